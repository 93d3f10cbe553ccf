//! The EU Cyber Resilience Act's reporting clock for an actively exploited vulnerability
//! (Regulation (EU) 2024/2847, Art. 14), as data: each report, its deadline, and where the
//! deadline comes from. The registry cannot know when a manufacturer first became aware of an
//! exploited vulnerability (the Act's start); it shows the clock from the moment *it* told the
//! manufacturer — the latest moment awareness can have begun — and says so.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// Where the facts below come from.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Source {
    pub document: &'static str,
    pub url: &'static str,
    /// Art. 14 applies from this day (Art. 71(2)).
    pub applies_from: &'static str,
    /// H: read in a primary text; M: a secondary source.
    pub confidence: &'static str,
    pub note: &'static str,
}

pub const SOURCE: Source = Source {
    document: "Regulation (EU) 2024/2847 (Cyber Resilience Act), Article 14(2)",
    url: "https://eur-lex.europa.eu/eli/reg/2024/2847/oj",
    applies_from: "2026-09-11",
    confidence: "H for the periods (shared/facts/standards.md §6); M for the point letters (a)-(c) (secondary: safeguard.sh, cvdportal.com summaries of Art. 14)",
    note: "the Act counts the 24 h and 72 h from when the manufacturer becomes aware of the actively exploited vulnerability; the registry counts from when it notified the manufacturer, so its due times are the latest possible ones",
};

/// What a deadline counts from.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum From {
    /// The moment the registry's notice reached the manufacturer.
    Notified,
    /// The moment a corrective or mitigating measure became available.
    CorrectiveMeasure,
}

/// One report Art. 14 requires for an actively exploited vulnerability.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Rule {
    /// `early-warning`, `notification`, `final-report`.
    pub id: &'static str,
    pub provision: &'static str,
    pub title: &'static str,
    pub from: From,
    /// Hours after `from`.
    pub within_hours: i64,
}

/// The three reports, in order.
pub const RULES: [Rule; 3] = [
    Rule {
        id: "early-warning",
        provision: "Art. 14(2)(a)",
        title: "early warning notification",
        from: From::Notified,
        within_hours: 24,
    },
    Rule {
        id: "notification",
        provision: "Art. 14(2)(b)",
        title: "vulnerability notification",
        from: From::Notified,
        within_hours: 72,
    },
    Rule {
        id: "final-report",
        provision: "Art. 14(2)(c)",
        title: "final report",
        from: From::CorrectiveMeasure,
        within_hours: 14 * 24,
    },
];

/// One deadline on the clock.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Deadline {
    pub report: &'static str,
    pub provision: &'static str,
    pub title: &'static str,
    pub from: From,
    pub within_hours: i64,
    /// `None` until what it counts from has happened.
    pub due: Option<Timestamp>,
    /// When the manufacturer says it made the report.
    pub made: Option<Timestamp>,
    /// Due, not made, and the due time has passed.
    pub overdue: bool,
    /// Made after its due time.
    pub late: bool,
}

/// The deadlines on `now`, from the notice and what the manufacturer recorded
/// (`made[i]` for `RULES[i]`).
pub fn clock(
    notified: Option<Timestamp>,
    corrective: Option<Timestamp>,
    made: [Option<Timestamp>; 3],
    now: Timestamp,
) -> Vec<Deadline> {
    RULES
        .iter()
        .zip(made)
        .map(|(r, made)| {
            let start = match r.from {
                From::Notified => notified,
                From::CorrectiveMeasure => corrective,
            };
            let due = start.and_then(|s| {
                s.checked_add(SignedDuration::from_hours(r.within_hours))
                    .ok()
            });
            Deadline {
                report: r.id,
                provision: r.provision,
                title: r.title,
                from: r.from,
                within_hours: r.within_hours,
                due,
                made,
                overdue: made.is_none() && due.is_some_and(|d| now > d),
                late: matches!((made, due), (Some(m), Some(d)) if m > d),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_count_from_the_notice_and_the_fix() {
        let t0: Timestamp = "2026-12-01T10:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let h = |n: i64| t0.checked_add(SignedDuration::from_hours(n)).unwrap_or(t0);
        let c = clock(Some(t0), None, [Some(h(30)), None, None], h(25));
        assert_eq!(c[0].due, Some(h(24)));
        assert!(c[0].late && !c[0].overdue);
        assert_eq!(c[1].due, Some(h(72)));
        assert!(!c[1].overdue);
        assert_eq!(c[2].due, None, "no corrective measure yet");
        let c = clock(Some(t0), Some(h(100)), [None; 3], h(100 + 14 * 24 + 1));
        assert!(c[0].overdue && c[1].overdue && c[2].overdue);
        assert_eq!(c[2].due, Some(h(100 + 14 * 24)));
    }
}
