//! The UDP side of the flow collector: a socket with a large receive buffer, and what is
//! done with each datagram ([`Collector`]: decode, hand the records to the engine). The
//! loop that reads the socket is the caller's (`iotrust watch --netflow`).

use std::net::{IpAddr, SocketAddr, UdpSocket};

use iotrust_flow::{Datagram, Decoded, FlowDecoder, FlowRecord};

use crate::shard::{ShardStopped, Sharded};

/// Receive buffer asked for by default: 32 MiB, so a burst of datagrams waits in the kernel
/// instead of being dropped (the kernel caps it at `net.core.rmem_max`; see
/// [`receive_buffer`] for what was granted).
pub const DEFAULT_RECV_BUFFER: usize = 32 << 20;

/// A UDP socket bound to `addr` with (up to) `recv_buffer` bytes of receive buffer.
pub fn bind_udp(addr: SocketAddr, recv_buffer: usize) -> std::io::Result<UdpSocket> {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    // best effort: an unprivileged process gets at most net.core.rmem_max
    let _ = sock.set_recv_buffer_size(recv_buffer);
    sock.bind(&addr.into())?;
    Ok(sock.into())
}

/// The receive buffer the kernel granted the socket.
pub fn receive_buffer(sock: &UdpSocket) -> Option<usize> {
    socket2::SockRef::from(sock).recv_buffer_size().ok()
}

/// Decodes datagrams and feeds their records to a [`Sharded`] engine.
pub struct Collector {
    decoder: FlowDecoder,
    records: Vec<FlowRecord>,
}

impl Collector {
    pub fn new(decoder: FlowDecoder) -> Collector {
        Collector {
            decoder,
            records: Vec::new(),
        }
    }

    /// The decoder (its counters and template cache).
    pub fn decoder(&self) -> &FlowDecoder {
        &self.decoder
    }

    /// Decodes one datagram from `exporter`, received at `received_us`, and hands its
    /// records to `engine` in order.
    pub fn datagram(
        &mut self,
        engine: &mut Sharded,
        exporter: IpAddr,
        received_us: i64,
        bytes: &[u8],
    ) -> Result<Decoded, ShardStopped> {
        self.records.clear();
        let d = self.decoder.decode(
            Datagram {
                exporter,
                received_us,
                bytes,
            },
            &mut self.records,
        );
        engine.observe_many(&self.records)?;
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_on_loopback_with_a_buffer() {
        let s = bind_udp("127.0.0.1:0".parse().unwrap(), 1 << 20).unwrap();
        assert!(receive_buffer(&s).unwrap() > 0);
        let port = s.local_addr().unwrap().port();
        assert_eq!(crate::metrics::udp_drops(port), Some(0));
    }
}
