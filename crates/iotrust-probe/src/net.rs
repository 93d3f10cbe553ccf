//! The only code that opens sockets. Every TCP connection and UDP socket goes through
//! [`Gate`], which checks the destination against the [`Scope`] first, then applies the rate
//! limit and the global connection limit. Reads are bounded in time and size.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::target::Scope;

/// Why a network operation did not produce data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("destination outside the scope allow-list")]
    OutOfScope,
    #[error("connection refused")]
    Refused,
    #[error("timed out")]
    Timeout,
    #[error("connection closed by the device")]
    Closed,
    #[error("the device sent more than {0} bytes")]
    TooMuch(usize),
    #[error("network error: {0}")]
    Io(String),
}

/// Opens connections, but only inside the scope.
pub struct Gate {
    scope: Scope,
    connect_timeout: Duration,
    read_timeout: Duration,
    max_bytes: usize,
    conns: Arc<Semaphore>,
    rate: Option<Mutex<RateLimiter>>,
}

struct RateLimiter {
    interval: Duration,
    next: Instant,
}

impl Gate {
    /// Create a gate. `rate` is new connections or datagrams per second (None: unlimited).
    pub fn new(
        scope: Scope,
        connect_timeout: Duration,
        read_timeout: Duration,
        max_connections: usize,
        rate: Option<u32>,
        max_bytes: usize,
    ) -> Gate {
        Gate {
            scope,
            connect_timeout,
            read_timeout,
            max_bytes,
            conns: Arc::new(Semaphore::new(max_connections.max(1))),
            rate: rate.filter(|r| *r > 0).map(|r| {
                Mutex::new(RateLimiter {
                    interval: Duration::from_secs_f64(1.0 / f64::from(r)),
                    next: Instant::now(),
                })
            }),
        }
    }

    /// Whether a destination is allowed.
    pub fn allowed(&self, ip: IpAddr) -> bool {
        self.scope.check(ip).is_ok()
    }

    /// The scope ranges, for the evidence document.
    pub fn scope_ranges(&self) -> Vec<String> {
        self.scope
            .ranges()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The per-read timeout connections use.
    pub fn read_timeout(&self) -> Duration {
        self.read_timeout
    }

    async fn pace(&self) {
        if let Some(r) = &self.rate {
            let slot = {
                let mut g = r.lock().await;
                let now = Instant::now();
                let slot = if g.next > now { g.next } else { now };
                g.next = slot + g.interval;
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Open a TCP connection to `addr` if it is in scope.
    pub async fn tcp(&self, addr: SocketAddr) -> Result<Conn, NetError> {
        if !self.allowed(addr.ip()) {
            return Err(NetError::OutOfScope);
        }
        let permit = Arc::clone(&self.conns)
            .acquire_owned()
            .await
            .map_err(|_| NetError::Io("gate closed".into()))?;
        self.pace().await;
        let stream =
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Err(_) => return Err(NetError::Timeout),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(NetError::Refused)
                }
                Ok(Err(e)) => return Err(NetError::Io(e.kind().to_string())),
                Ok(Ok(s)) => s,
            };
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            stream: Box::new(stream),
            _permit: permit,
            read_timeout: self.read_timeout,
            budget: self.max_bytes,
            received: 0,
        })
    }

    /// A UDP socket connected to `addr` (it can only talk to that address), if in scope.
    pub async fn udp(&self, addr: SocketAddr) -> Result<Datagrams<'_>, NetError> {
        if !self.allowed(addr.ip()) {
            return Err(NetError::OutOfScope);
        }
        let bind: SocketAddr = if addr.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(bind)
            .await
            .map_err(|e| NetError::Io(e.kind().to_string()))?;
        sock.connect(addr)
            .await
            .map_err(|e| NetError::Io(e.kind().to_string()))?;
        Ok(Datagrams {
            sock,
            gate_rate: self,
        })
    }
}

/// A connected UDP socket; sending is paced by the gate's rate limit.
pub struct Datagrams<'g> {
    sock: UdpSocket,
    gate_rate: &'g Gate,
}

impl Datagrams<'_> {
    /// Send one datagram.
    pub async fn send(&self, data: &[u8]) -> Result<(), NetError> {
        self.gate_rate.pace().await;
        self.sock
            .send(data)
            .await
            .map(|_| ())
            .map_err(|e| io_err(&e))
    }

    /// Receive one datagram (at most 64 KiB) before the deadline.
    pub async fn recv_until(&self, deadline: Instant) -> Result<Vec<u8>, NetError> {
        let mut buf = vec![0u8; 65536];
        match tokio::time::timeout_at(deadline, self.sock.recv(&mut buf)).await {
            Err(_) => Err(NetError::Timeout),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                Err(NetError::Refused)
            }
            Ok(Err(e)) => Err(NetError::Io(e.kind().to_string())),
            Ok(Ok(n)) => {
                buf.truncate(n);
                Ok(buf)
            }
        }
    }
}

/// A byte stream: plain TCP or TLS over it.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// A TCP connection with bounded reads: each read waits at most the read timeout, and the
/// connection as a whole accepts at most `max_bytes` from the device.
pub struct Conn {
    stream: Box<dyn Io>,
    _permit: OwnedSemaphorePermit,
    read_timeout: Duration,
    budget: usize,
    received: usize,
}

impl Conn {
    /// Write all of `data`, within the read timeout.
    pub async fn send(&mut self, data: &[u8]) -> Result<(), NetError> {
        match tokio::time::timeout(self.read_timeout, self.stream.write_all(data)).await {
            Err(_) => Err(NetError::Timeout),
            Ok(Err(e)) => Err(io_err(&e)),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Read whatever arrives next, waiting at most `wait` (capped by the read timeout).
    pub async fn recv(&mut self, wait: Duration) -> Result<Vec<u8>, NetError> {
        let wait = wait.min(self.read_timeout);
        self.recv_until(Instant::now() + wait).await
    }

    /// Read whatever arrives next, before `deadline`.
    pub async fn recv_until(&mut self, deadline: Instant) -> Result<Vec<u8>, NetError> {
        if self.received >= self.budget {
            return Err(NetError::TooMuch(self.budget));
        }
        let mut buf = vec![0u8; 16384.min(self.budget - self.received)];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await {
            Err(_) => Err(NetError::Timeout),
            Ok(Err(e)) => Err(io_err(&e)),
            Ok(Ok(0)) => Err(NetError::Closed),
            Ok(Ok(n)) => {
                self.received += n;
                buf.truncate(n);
                Ok(buf)
            }
        }
    }

    /// Read until `done(buffer)` says the buffer is complete, the deadline passes, the
    /// device closes, or `limit` bytes arrived. Returns what was read (possibly partial) and
    /// the reason it stopped, if not `done`.
    pub async fn recv_while(
        &mut self,
        deadline: Instant,
        limit: usize,
        mut done: impl FnMut(&[u8]) -> bool,
    ) -> (Vec<u8>, Option<NetError>) {
        let mut out = Vec::new();
        loop {
            if done(&out) {
                return (out, None);
            }
            if out.len() >= limit {
                return (out, Some(NetError::TooMuch(limit)));
            }
            match self.recv_until(deadline).await {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// The underlying stream, for TLS and SSH libraries. Time limits then apply from the caller.
    pub fn into_parts(self) -> (Box<dyn Io>, OwnedSemaphorePermit) {
        (self.stream, self._permit)
    }

    /// Rebuild a connection around a wrapped stream (for example TLS), keeping the limits.
    pub fn from_parts(
        stream: Box<dyn Io>,
        permit: OwnedSemaphorePermit,
        read_timeout: Duration,
        budget: usize,
    ) -> Conn {
        Conn {
            stream,
            _permit: permit,
            read_timeout,
            budget,
            received: 0,
        }
    }

    /// The byte budget of this connection.
    pub fn budget(&self) -> usize {
        self.budget
    }
}

fn io_err(e: &std::io::Error) -> NetError {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::UnexpectedEof => NetError::Closed,
        std::io::ErrorKind::ConnectionRefused => NetError::Refused,
        k => NetError::Io(k.to_string()),
    }
}
