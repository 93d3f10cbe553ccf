//! The UDP side of the flow collector: a socket with a large receive buffer, and what is
//! done with each datagram ([`Collector`]: decode, hand the records to the engine). The
//! loop that reads the socket is the caller's (`iotrust watch --netflow`).

use std::net::{IpAddr, SocketAddr, UdpSocket};

use iotrust_flow::{Datagram, FlowDecoder, FlowRecord};

use crate::engine::Engine;
use crate::error::Error;

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

/// Datagrams taken from the socket per system call by [`Batch::recv`].
pub const BATCH: usize = 32;
/// Room for one datagram (the largest a UDP datagram can carry).
const DATAGRAM_MAX: usize = 65_535;

/// Receives up to [`BATCH`] datagrams a system call (`recvmmsg(2)`: it waits for the first,
/// within the socket's read timeout, then takes what is already queued), instead of one
/// `recvfrom` each. At millions of records a second the collector makes tens of thousands
/// of calls a second, so each call saved is time the detectors get.
pub struct Batch {
    headers: nix::sys::socket::MultiHeaders<nix::sys::socket::SockaddrStorage>,
    bufs: Vec<u8>,
    got: Vec<(IpAddr, usize)>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            headers: nix::sys::socket::MultiHeaders::preallocate(BATCH, None),
            bufs: vec![0; BATCH * DATAGRAM_MAX],
            got: Vec::with_capacity(BATCH),
        }
    }
}

impl Batch {
    /// Waits for datagrams on `sock` (up to its read timeout) and keeps those received;
    /// their number (0 on a timeout).
    pub fn recv(&mut self, sock: &UdpSocket) -> std::io::Result<usize> {
        use nix::sys::socket::{recvmmsg, MsgFlags};
        use std::io::IoSliceMut;
        use std::os::fd::AsRawFd;
        self.got.clear();
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
            .bufs
            .chunks_mut(DATAGRAM_MAX)
            .map(|b| [IoSliceMut::new(b)])
            .collect();
        let res = recvmmsg(
            sock.as_raw_fd(),
            &mut self.headers,
            slices.iter_mut(),
            MsgFlags::MSG_WAITFORONE,
            None,
        );
        match res {
            Ok(msgs) => {
                for m in msgs {
                    let ip = m.address.and_then(|a: nix::sys::socket::SockaddrStorage| {
                        a.as_sockaddr_in()
                            .map(|v4| IpAddr::V4(v4.ip()))
                            .or_else(|| a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
                    });
                    self.got.push((
                        ip.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
                        m.bytes,
                    ));
                }
                Ok(self.got.len())
            }
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// The datagrams of the last [`Batch::recv`]: exporter address and bytes.
    pub fn datagrams(&self) -> impl Iterator<Item = (IpAddr, &[u8])> + '_ {
        self.got
            .iter()
            .zip(self.bufs.chunks(DATAGRAM_MAX))
            .map(|((ip, n), buf)| (*ip, buf.get(..*n).unwrap_or_default()))
    }
}

/// Decodes datagrams and feeds their records to an [`Engine`].
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

    /// Decodes datagrams received together (one [`Batch::recv`]) and hands all their
    /// records to `engine` at once, in order: the engine's look-ahead then works on groups
    /// of records that span datagrams, and the per-call work is paid once a batch.
    pub fn datagrams<'a>(
        &mut self,
        engine: &mut impl Engine,
        received_us: i64,
        datagrams: impl IntoIterator<Item = (IpAddr, &'a [u8])>,
    ) -> Result<Received, Error> {
        self.records.clear();
        let mut got = Received::default();
        for (exporter, bytes) in datagrams {
            let d = self.decoder.decode(
                Datagram {
                    exporter,
                    received_us,
                    bytes,
                },
                &mut self.records,
            );
            got.datagrams += 1;
            got.errors += d.errors.len() as u64;
        }
        got.records = self.records.len() as u64;
        engine.observe_many(&self.records)?;
        Ok(got)
    }
}

/// What [`Collector::datagrams`] took in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    pub datagrams: u64,
    pub records: u64,
    /// Problems the decoder reported (each also counted in its stats).
    pub errors: u64,
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

    #[test]
    fn batch_receives_queued_datagrams_with_their_senders() {
        let s = bind_udp("127.0.0.1:0".parse().unwrap(), 1 << 20).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_millis(50)))
            .unwrap();
        let to = s.local_addr().unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut b = Batch::default();
        // nothing queued: the read timeout, no datagram
        assert_eq!(b.recv(&s).unwrap(), 0);
        // more than one batch, of different sizes (the largest fills a whole buffer)
        let sizes: Vec<usize> = (0..BATCH + 5).map(|i| [1, 1400, 65_507][i % 3]).collect();
        for (i, n) in sizes.iter().enumerate() {
            tx.send_to(&vec![i as u8; *n], to).unwrap();
        }
        let mut seen = Vec::new();
        while seen.len() < sizes.len() {
            let n = b.recv(&s).unwrap();
            assert!(n > 0 && n <= BATCH);
            for (ip, d) in b.datagrams() {
                assert_eq!(ip, std::net::Ipv4Addr::LOCALHOST);
                seen.push((d.len(), d[0]));
                assert!(d.iter().all(|x| *x == d[0]));
            }
        }
        let want: Vec<(usize, u8)> = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, i as u8))
            .collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn datagrams_received_together_are_decoded_in_order_and_counted() {
        use iotrust_flow::testing::{bench_record, MessageWriter, Rng, V4_FIELDS};
        use iotrust_flow::{DecodeConfig, SourceKind};
        let mut rng = Rng(3);
        let secs = 1_764_000_000u32;
        let now_us = i64::from(secs) * 1_000_000;
        let recs: Vec<Vec<FlowRecord>> = [4usize, 7]
            .iter()
            .map(|n| {
                (0..*n)
                    .map(|_| bench_record(&mut rng, 50, now_us))
                    .collect()
            })
            .collect();
        let mut first = MessageWriter::v9(1, secs, 10_000, 0);
        first
            .template(256, &V4_FIELDS)
            .data(256, &V4_FIELDS, &recs[0]);
        let mut second = MessageWriter::v9(1, secs, 10_000, 1);
        second.data(256, &V4_FIELDS, &recs[1]);
        let garbage = vec![0u8, 9, 0, 1, 2];
        let dgrams = [first.finish(), garbage, second.finish()];
        let exporter: IpAddr = "127.0.0.1".parse().unwrap();

        let mut engine = crate::Sharded::new(
            crate::Config::default(),
            1,
            crate::Indicators::default(),
            crate::Subscribers::default(),
        );
        let mut c = Collector::new(FlowDecoder::new(DecodeConfig::default()));
        let got = c
            .datagrams(
                &mut engine,
                now_us,
                dgrams.iter().map(|d| (exporter, d.as_slice())),
            )
            .unwrap();
        assert_eq!((got.datagrams, got.records), (3, 11));
        assert!(got.errors >= 1, "the garbage datagram is reported");
        engine.sync().unwrap();
        assert_eq!(engine.stats().records, 11);
        // the records as decoded one datagram at a time, in the same order
        let mut d = FlowDecoder::new(DecodeConfig::default());
        let mut want = Vec::new();
        for b in &dgrams {
            let _ = d.decode(
                Datagram {
                    exporter,
                    received_us: now_us,
                    bytes: b,
                },
                &mut want,
            );
        }
        assert_eq!(c.records, want);
        let sources: Vec<_> = want.iter().map(|r| (r.src, r.kind)).collect();
        let sent: Vec<_> = recs
            .iter()
            .flatten()
            .map(|r| (r.src, SourceKind::NetflowV9))
            .collect();
        assert_eq!(sources, sent);
    }
}
