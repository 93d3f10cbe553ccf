//! Sans-IO protocol logic: builders of what the probe sends and decoders of what devices
//! answer. Nothing here touches a socket or a clock, so every decoder is unit-tested and
//! fuzzed on bytes alone (see [`crate::fuzzing`]).

pub mod ber;
pub mod ftp;
pub mod http;
pub mod mqtt;
pub mod rtsp;
pub mod snmp;
pub mod ssh;
pub mod telnet;
pub mod tls;
pub mod udp;
pub mod x509;
