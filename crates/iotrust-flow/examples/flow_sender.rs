//! A paced NetFlow v9 / IPFIX sender for collector benchmarks (`scripts/bench-watch.sh`).
//!
//! ```sh
//! cargo run --release -p iotrust-flow --features testing --example flow_sender -- \
//!     --to 127.0.0.1:2055 --proto v9 --rate 500000 --seconds 10
//! ```
//!
//! Sends `rate × seconds` flow records, `--per-datagram` (default 30) to a datagram, paced
//! every millisecond, up to 32 datagrams a system call (`sendmmsg`, so that the sender takes
//! less of the machine it shares with the tools it feeds); prints one JSON line with what it sent, the rate achieved and its own CPU time. Records
//! are IPv4 flows from `--hosts` subscriber addresses in 10.1.0.0/16 to random public
//! destinations (TCP 70 %, UDP 30 %), built once into a pool of datagrams whose export
//! time and sequence number are patched as they go out. The template is repeated every
//! 256 datagrams (and first). Only loopback destinations are accepted.

use std::io::IoSlice;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};

use iotrust_flow::testing::{bench_datagrams, bench_next, Rng, BENCH_UPTIME_MS};

struct Opts {
    to: Vec<SocketAddr>,
    ipfix: bool,
    rate: u64,
    seconds: f64,
    per_datagram: usize,
    hosts: u32,
    seed: u64,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        to: Vec::new(),
        ipfix: false,
        rate: 100_000,
        seconds: 10.0,
        per_datagram: 30,
        hosts: 65_000,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--to" => {
                let addr: SocketAddr = val()?.parse().map_err(|e| format!("--to: {e}"))?;
                if !addr.ip().is_loopback() {
                    return Err("--to: loopback addresses only".into());
                }
                o.to.push(addr);
            }
            "--proto" => {
                o.ipfix = match val()?.as_str() {
                    "v9" => false,
                    "ipfix" => true,
                    p => return Err(format!("--proto {p}: v9 or ipfix")),
                }
            }
            "--rate" => o.rate = val()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--seconds" => o.seconds = val()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--per-datagram" => {
                o.per_datagram = val()?.parse().map_err(|e| format!("--per-datagram: {e}"))?
            }
            "--hosts" => o.hosts = val()?.parse().map_err(|e| format!("--hosts: {e}"))?,
            "--seed" => o.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if o.to.is_empty() {
        return Err("give --to 127.0.0.1:PORT".into());
    }
    o.per_datagram = o.per_datagram.clamp(1, 40);
    o.hosts = o.hosts.clamp(1, 65_536);
    Ok(o)
}

fn main() -> Result<(), String> {
    let o = parse()?;
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?;
    let now_us = i64::try_from(now.as_micros()).map_err(|e| e.to_string())?;
    let secs = u32::try_from(now.as_secs()).map_err(|e| e.to_string())?;
    let mut rng = Rng(o.seed);
    // a pool of datagrams, each with the template (used every 256th) and without
    let pool_len = 1024;
    let mut pool = bench_datagrams(
        &mut rng,
        o.ipfix,
        pool_len,
        o.per_datagram,
        o.hosts,
        now_us,
        secs,
    );
    let total = (o.rate as f64 * o.seconds) as u64;
    let datagrams = total.div_ceil(o.per_datagram as u64);
    let per_ms = o.rate as f64 / o.per_datagram as f64 / 1000.0;
    let to: Vec<SockaddrStorage> = o.to.iter().map(|a| SockaddrStorage::from(*a)).collect();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let start = Instant::now();
    let mut sent = 0u64;
    let mut errors = 0u64;
    let mut records = 0u64;
    while sent < datagrams {
        let due = ((start.elapsed().as_secs_f64() * 1000.0 * per_ms) as u64 + 1).min(datagrams);
        if sent >= due {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        while sent < due {
            // the next datagrams of the pool (not past its end), restamped, then sent at once
            let elapsed = start.elapsed();
            let stamp = |_| {
                (
                    secs.wrapping_add(elapsed.as_secs() as u32),
                    BENCH_UPTIME_MS.wrapping_add(elapsed.as_millis() as u32),
                )
            };
            let want = ((due - sent) as usize).min(BATCH);
            let chosen = bench_next(&mut pool, sent, want, o.ipfix, o.per_datagram, stamp);
            let n = chosen.len();
            let slices: Vec<[IoSlice<'_>; 1]> = chosen.iter().map(|b| [IoSlice::new(b)]).collect();
            for to in &to {
                let addrs = vec![Some(*to); n];
                errors += send_all(&sock, &mut headers, &slices, &addrs);
            }
            sent += n as u64;
            records += (n * o.per_datagram) as u64;
        }
    }
    let secs_taken = start.elapsed().as_secs_f64();
    println!(
        "{{\"proto\":\"{}\",\"datagrams\":{sent},\"records\":{records},\"seconds\":{secs_taken:.3},\"achieved_rate\":{:.0},\"target_rate\":{},\"send_errors\":{errors},\"cpu_seconds\":{:.2}}}",
        if o.ipfix { "ipfix" } else { "v9" },
        records as f64 / secs_taken,
        o.rate,
        cpu_seconds().unwrap_or(f64::NAN)
    );
    Ok(())
}

/// Datagrams handed to the kernel in one `sendmmsg`.
const BATCH: usize = 32;

/// Sends every datagram of `slices` (one address each); returns how many failed. A call
/// that sends only some is continued with the rest; an error counts the datagram it
/// stopped at as failed and goes on after it.
fn send_all(
    sock: &UdpSocket,
    headers: &mut MultiHeaders<SockaddrStorage>,
    slices: &[[IoSlice<'_>; 1]],
    addrs: &[Option<SockaddrStorage>],
) -> u64 {
    let (mut done, mut errors) = (0usize, 0u64);
    while done < slices.len() {
        let (rest, rest_addrs) = (&slices[done..], &addrs[done..]);
        match sendmmsg(
            sock.as_raw_fd(),
            headers,
            rest.iter(),
            rest_addrs,
            [],
            MsgFlags::empty(),
        ) {
            Ok(res) => match res.count() {
                // nothing sent, no error (not seen on a blocking socket): skip one
                0 => {
                    errors += 1;
                    done += 1;
                }
                n => done += n,
            },
            Err(_) => {
                errors += 1;
                done += 1;
            }
        }
    }
    errors
}

/// User + system CPU time of this process (Linux `/proc/self/stat`, at the usual 100 ticks a
/// second): what the sender itself takes of the machine the tools under test share.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // the fields after the command name, which is in parentheses and may hold spaces
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut f = rest.split(' ').skip(11);
    let utime: f64 = f.next()?.parse().ok()?;
    let stime: f64 = f.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
