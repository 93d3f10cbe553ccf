//! Where incident events go in one process (and in `watch sink`): stdout or a file as JSON
//! lines or text, a webhook, subscriber notices, the field reporter, the metrics.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::Error;
use crate::field::FieldReporter;
use crate::incident::{Event, EventKind, Incident, JsonLines};
use crate::metrics::Metrics;
use crate::sinks::{NoticeTemplate, Webhook};

/// Events on a writer: JSON lines, or a line of text each.
pub enum EventOut {
    Json(JsonLines<Box<dyn Write>>),
    Text(Box<dyn Write>),
}

impl EventOut {
    /// JSON lines on `w`.
    pub fn json(w: Box<dyn Write>) -> EventOut {
        EventOut::Json(JsonLines::new(w))
    }

    /// Nowhere (a role that writes no events).
    pub fn discard() -> EventOut {
        EventOut::Text(Box::new(std::io::sink()))
    }

    pub fn write(&mut self, e: &Event) -> Result<(), Error> {
        match self {
            EventOut::Json(j) => j.write(e)?,
            EventOut::Text(out) => out.write_all(text_line(e).as_bytes())?,
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        match self {
            EventOut::Json(j) => j.flush()?,
            EventOut::Text(out) => out.flush()?,
        }
        Ok(())
    }
}

/// A name as the JSON has it (`opened`, `high`).
fn json_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The text form of an event: the incident's last record time, the event, the device, the
/// detector, the severity and the summary.
pub fn text_line(e: &Event) -> String {
    let i = &e.incident;
    format!(
        "{} {:<9} {} {} {} {}\n",
        i.last_seen,
        json_name(&e.event),
        i.device,
        i.detector.name(),
        json_name(&i.severity),
        i.summary
    )
}

/// Subscriber notices: a file in `dir` per incident opened and per incident closed, each
/// from its template if one was given.
pub struct Notices {
    dir: PathBuf,
    opened: Option<NoticeTemplate>,
    closed: Option<NoticeTemplate>,
}

impl Notices {
    /// Notices into `dir` (created); at least one template is needed.
    pub fn new(
        dir: PathBuf,
        opened: Option<NoticeTemplate>,
        closed: Option<NoticeTemplate>,
    ) -> Result<Notices, Error> {
        if opened.is_none() && closed.is_none() {
            return Err(Error::Setting {
                setting: "--notices needs --notice-template or --closed-notice-template".into(),
                message: "neither was given".into(),
            });
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::input(dir.display(), format!("cannot create: {e}")))?;
        Ok(Notices {
            dir,
            opened,
            closed,
        })
    }

    /// Writes the notice of an event, if its kind has a template.
    pub fn write(&self, e: &Event) -> Result<(), Error> {
        let (template, suffix) = match e.event {
            EventKind::Opened => (&self.opened, ""),
            EventKind::Closed => (&self.closed, "-closed"),
            EventKind::Escalated => return Ok(()),
        };
        let Some(t) = template else {
            return Ok(());
        };
        let device = e.incident.device.to_string().replace(':', "_");
        let path = self
            .dir
            .join(format!("notice-{}-{device}{suffix}.txt", e.incident.id));
        std::fs::write(&path, t.render(&e.incident))
            .map_err(|e| Error::input(path.display(), format!("cannot write: {e}")))
    }
}

/// The outputs of a run: every event goes to each one given.
pub struct Outputs {
    pub out: EventOut,
    pub webhook: Option<Webhook>,
    pub field: Option<FieldReporter>,
    pub notices: Option<Notices>,
    pub metrics: Arc<Metrics>,
}

impl Outputs {
    /// Outputs that only count (the inlet writes no events).
    pub fn metrics_only(metrics: Arc<Metrics>) -> Outputs {
        Outputs {
            out: EventOut::discard(),
            webhook: None,
            field: None,
            notices: None,
            metrics,
        }
    }

    /// One event to every output.
    pub fn emit(&mut self, e: &Event) -> Result<(), Error> {
        self.out.write(e)?;
        self.count(e);
        self.side_outputs(e, None)
    }

    /// The event's metrics.
    fn count(&self, e: &Event) {
        self.metrics.events.fetch_add(1, Relaxed);
        match e.event {
            EventKind::Opened => self.metrics.incident_opened(e.incident.detector),
            EventKind::Closed => self.metrics.incident_closed(e.incident.detector),
            EventKind::Escalated => {}
        }
    }

    /// Notices, webhook and field reports of an event (`json`: its line as written, when
    /// the caller has it).
    fn side_outputs(&mut self, e: &Event, json: Option<&[u8]>) -> Result<(), Error> {
        if let Some(n) = &self.notices {
            n.write(e)?;
        }
        if let Some(w) = &self.webhook {
            // a full queue drops the event and counts it (the webhook's metrics)
            let _queued = match json {
                Some(j) => w.send_json(String::from_utf8_lossy(j).into_owned()),
                None => w.send(e),
            };
        }
        if let Some(f) = &mut self.field {
            f.observe(e);
        }
        Ok(())
    }

    /// An event that comes as its JSON line (the bus's sink): the line is written as it
    /// came (the same bytes one process writes), the other outputs read `e`.
    pub fn emit_line(&mut self, e: &Event, json: &[u8]) -> Result<(), Error> {
        match &mut self.out {
            EventOut::Json(j) => j.write_raw(json)?,
            EventOut::Text(out) => out.write_all(text_line(e).as_bytes())?,
        }
        self.count(e);
        self.side_outputs(e, Some(json))
    }

    /// A device announced the MUD URL of its product (field reports name it).
    pub fn announce_mud(&mut self, device: std::net::IpAddr, url: &str) {
        if let Some(f) = &mut self.field {
            f.announce_mud(device, url);
        }
    }

    /// Hands out the engine's events, updates the metrics.
    pub fn drain(&mut self, engine: &mut impl Engine) -> Result<(), Error> {
        let events: Vec<Event> = engine.take_events();
        for e in &events {
            self.emit(e)?;
        }
        self.metrics.set_stats(&engine.stats());
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), Error> {
        self.out.flush()
    }
}

/// The proposed filters of `incidents` as a file: the nftables rule set, then the BGP
/// FlowSpec rules as comments. Returns the number of proposals.
pub fn write_filters<'a>(
    path: &std::path::Path,
    incidents: impl IntoIterator<Item = &'a Incident>,
) -> Result<usize, Error> {
    let proposals: Vec<_> = incidents.into_iter().filter_map(crate::propose).collect();
    let mut text = crate::nftables_ruleset(&proposals);
    text.push_str(
        "\n# BGP FlowSpec rules (proposed; apply to the infected device's outbound traffic only)\n",
    );
    for p in &proposals {
        for r in &p.flowspec {
            text.push_str(&format!("# {}\n", r.describe()));
        }
    }
    std::fs::write(path, text)
        .map_err(|e| Error::input(path.display(), format!("cannot write: {e}")))?;
    Ok(proposals.len())
}
