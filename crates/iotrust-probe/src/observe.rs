//! What checks report: each check sends [`Observation`]s over a channel, and the host folds
//! them into its state ([`crate::host::HostState`]) in the order they arrive. Checks never see
//! one another's results, so they import nothing but this module and the evidence types, and
//! a check that runs past the host's time limit still leaves everything it observed until
//! then in the channel.

use std::collections::BTreeSet;

use tokio::sync::mpsc;

use crate::evidence::{Finding, Rule, Service};
use crate::protocols::tls;

/// One thing a check learned about the host.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Observation {
    /// A service answered on a port.
    Service(Service),
    /// A later check learned more about the TCP service on `port`: a note for its banner.
    ServiceNote { port: u16, note: String },
    /// The TCP service on `port` turned out to speak `protocol`.
    ServiceProtocol { port: u16, protocol: String },
    /// The TLS versions the TCP service on `port` accepts.
    ServiceTls { port: u16, versions: Vec<String> },
    /// A finding, kept once per id and service.
    Finding(Finding),
    /// The TCP scan ended with these ports open; every open port will be identified.
    OpenTcp(BTreeSet<u16>),
    /// An anonymous-access check completed; `Some(service)` if access was granted.
    Anonymous(Option<String>),
    /// A credential check ran: a working credential was `found`; the list was tried in full
    /// (`complete`).
    Credentials { found: bool, complete: bool },
    /// A credential check could not complete.
    CredentialsIncomplete,
    /// A check could not finish; why.
    Incomplete(String),
    /// Management or logins travel in cleartext.
    Cleartext,
    /// A service that need not be exposed, as `name/port`.
    Needless(String),
    /// A TLS service negotiated at most this low a version.
    TlsVersion(tls::Version),
    /// An SSH or TLS service offers algorithms current guidance rules out.
    WeakCrypto,
}

/// The sending side, handed to every check of one host. Cloning is cheap; sending never
/// blocks (the channel is unbounded: a host sends a few hundred observations at most).
#[derive(Clone, Debug)]
pub(crate) struct Observer(mpsc::UnboundedSender<Observation>);

/// The receiving side, kept by the host.
pub(crate) type Observations = mpsc::UnboundedReceiver<Observation>;

/// A new channel for one host.
pub(crate) fn channel() -> (Observer, Observations) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Observer(tx), rx)
}

impl Observer {
    fn send(&self, o: Observation) {
        // The receiver lives as long as the host's run; once it is gone nobody reads the
        // result, so a failed send loses nothing that would be reported.
        let _ = self.0.send(o);
    }

    pub fn service(&self, s: Service) {
        self.send(Observation::Service(s));
    }

    pub fn finding(
        &self,
        rule: &Rule,
        service: Option<String>,
        title: Option<String>,
        detail: Option<String>,
    ) {
        let mut f = Finding::new(rule, service, title, detail);
        crate::families::annotate(&mut f);
        self.send(Observation::Finding(f));
    }

    /// A finding built elsewhere (checks from data files carry their own ids).
    pub fn push_finding(&self, f: Finding) {
        self.send(Observation::Finding(f));
    }

    pub fn service_note(&self, port: u16, note: String) {
        self.send(Observation::ServiceNote { port, note });
    }

    pub fn service_protocol(&self, port: u16, protocol: String) {
        self.send(Observation::ServiceProtocol { port, protocol });
    }

    pub fn service_tls(&self, port: u16, versions: Vec<String>) {
        self.send(Observation::ServiceTls { port, versions });
    }

    pub fn open_tcp(&self, ports: BTreeSet<u16>) {
        self.send(Observation::OpenTcp(ports));
    }

    pub fn anonymous_tested(&self, found: Option<String>) {
        self.send(Observation::Anonymous(found));
    }

    pub fn creds_result(&self, found: bool, complete: bool) {
        self.send(Observation::Credentials { found, complete });
    }

    pub fn creds_incomplete(&self) {
        self.send(Observation::CredentialsIncomplete);
    }

    pub fn incomplete(&self, why: String) {
        self.send(Observation::Incomplete(why));
    }

    pub fn cleartext(&self) {
        self.send(Observation::Cleartext);
    }

    pub fn needless(&self, name: String) {
        self.send(Observation::Needless(name));
    }

    pub fn tls_version(&self, v: tls::Version) {
        self.send(Observation::TlsVersion(v));
    }

    pub fn weak_crypto(&self) {
        self.send(Observation::WeakCrypto);
    }
}

/// Everything sent so far, in order, without waiting for more.
pub(crate) fn drain(rx: &mut Observations) -> Vec<Observation> {
    let mut out = Vec::new();
    while let Ok(o) = rx.try_recv() {
        out.push(o);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_arrive_in_order_and_survive_the_senders() {
        let (obs, mut rx) = channel();
        let other = obs.clone();
        obs.cleartext();
        other.needless("telnet/23".into());
        obs.incomplete("tcp/80: service time limit reached".into());
        drop(obs);
        drop(other);
        assert_eq!(
            drain(&mut rx),
            vec![
                Observation::Cleartext,
                Observation::Needless("telnet/23".into()),
                Observation::Incomplete("tcp/80: service time limit reached".into()),
            ]
        );
    }
}
