//! What kind of obligation a provision is, and how firmly its outcome mappings are established:
//! derived from the data (the scheme's `kind`, the provision's `status`, each mapping's
//! `basis`), never entered by hand. Every output that prints a provision says both, so that
//! nobody takes iotrust's inference for the law.
//!
//! | scheme kind | status `mandatory` | `recommended` | `informative` | `unknown` | `void` |
//! |---|---|---|---|---|---|
//! | mandatory-law | legal requirement | recommendation | good practice | obligation unknown | void |
//! | standard, voluntary-label, procurement-profile | mandatory provision, not law | recommendation | good practice | obligation unknown | void |
//! | code-of-practice, industry-baseline | good practice | good practice | good practice | good practice | void |
//!
//! A standard's provision stays "mandatory provision, not law" when a law names the standard
//! as a route to compliance (PSTI Schedule 2, a harmonised standard's presumption of
//! conformity): the route is an alternative way to meet the law's own provision, which is the
//! legal requirement. The catalog has no scheme that a law makes mandatory as a whole; if one
//! is added, this is where its provisions would become legal requirements.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{Basis, ProvisionDef, SchemeKind, Status};

/// The kind of obligation a provision is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Obligation {
    /// A mandatory provision of a law.
    LegalRequirement,
    /// A mandatory provision of a standard, a label or a procurement profile: binding only on
    /// who claims the standard or the label, not law.
    MandatoryProvision,
    /// A recommended provision (of a law or of anything else).
    Recommendation,
    /// Guidance: a code of practice, an industry baseline, an informative provision.
    GoodPractice,
    /// The provision's status is not established.
    Unknown,
    /// No longer in force in this version.
    Void,
}

impl Obligation {
    /// Short text, as every output prints it.
    pub fn label(self) -> &'static str {
        match self {
            Obligation::LegalRequirement => "legal requirement",
            Obligation::MandatoryProvision => "mandatory provision, not law",
            Obligation::Recommendation => "recommendation",
            Obligation::GoodPractice => "good practice",
            Obligation::Unknown => "obligation unknown",
            Obligation::Void => "void",
        }
    }
}

impl fmt::Display for Obligation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The obligation of a provision with `status` in a scheme of `kind` (the table above).
pub fn obligation(kind: SchemeKind, status: Status) -> Obligation {
    use SchemeKind as K;
    match (kind, status) {
        (_, Status::Void) => Obligation::Void,
        (K::CodeOfPractice | K::IndustryBaseline, _) => Obligation::GoodPractice,
        (_, Status::Unknown) => Obligation::Unknown,
        (_, Status::Informative) => Obligation::GoodPractice,
        (_, Status::Recommended) => Obligation::Recommendation,
        (K::MandatoryLaw, Status::Mandatory) => Obligation::LegalRequirement,
        (K::Standard | K::VoluntaryLabel | K::ProcurementProfile, Status::Mandatory) => {
            Obligation::MandatoryProvision
        }
    }
}

/// How firmly a provision's outcome mappings are established: the weakest basis among them
/// (official > published crosswalk > inferred), so one inferred mapping makes the provision's
/// mapping "inferred". `None` when it maps to no outcome.
pub fn mapping_basis(p: &ProvisionDef) -> Option<Basis> {
    p.outcomes.iter().map(|m| *m.basis).min()
}

/// Text for a mapping basis, `none` when there is no mapping.
pub fn mapping_label(b: Option<Basis>) -> String {
    b.map(|b| b.to_string()).unwrap_or_else(|| "none".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MappingDef, Phase, Source, Sp};
    use Obligation as O;

    #[test]
    fn obligation_follows_kind_and_status() {
        use SchemeKind as K;
        use Status as S;
        assert_eq!(
            obligation(K::MandatoryLaw, S::Mandatory),
            O::LegalRequirement
        );
        assert_eq!(
            obligation(K::MandatoryLaw, S::Recommended),
            O::Recommendation
        );
        assert_eq!(obligation(K::Standard, S::Mandatory), O::MandatoryProvision);
        assert_eq!(obligation(K::Standard, S::Recommended), O::Recommendation);
        assert_eq!(
            obligation(K::VoluntaryLabel, S::Mandatory),
            O::MandatoryProvision
        );
        assert_eq!(
            obligation(K::CodeOfPractice, S::Recommended),
            O::GoodPractice
        );
        assert_eq!(
            obligation(K::IndustryBaseline, S::Mandatory),
            O::GoodPractice
        );
        assert_eq!(obligation(K::Standard, S::Informative), O::GoodPractice);
        assert_eq!(obligation(K::MandatoryLaw, S::Unknown), O::Unknown);
        assert_eq!(obligation(K::MandatoryLaw, S::Void), O::Void);
        // nothing but a law's mandatory provision is a legal requirement
        for k in [
            K::VoluntaryLabel,
            K::Standard,
            K::IndustryBaseline,
            K::CodeOfPractice,
            K::ProcurementProfile,
        ] {
            for s in [
                S::Mandatory,
                S::Recommended,
                S::Informative,
                S::Void,
                S::Unknown,
            ] {
                assert_ne!(obligation(k, s), O::LegalRequirement, "{k} {s}");
            }
        }
    }

    fn mapping(basis: Basis) -> MappingDef {
        MappingDef {
            outcome: Sp::new("x".into()),
            basis: Sp::new(basis),
            crosswalk: None,
            source: Source {
                reference: "r".into(),
                url: None,
                confidence: crate::model::Confidence::M,
            },
            note: None,
        }
    }

    #[test]
    fn mapping_basis_is_the_weakest() {
        let mut p = ProvisionDef {
            id: Sp::new("p".into()),
            title: "t".into(),
            clause: None,
            status: Status::Mandatory,
            conditions: vec![],
            phase: Phase::Design,
            outcomes: vec![],
            unmapped_reason: Some("none".into()),
            replaces: vec![],
            replaced_by: vec![],
            routes: vec![],
            applies_from: None,
            known: true,
            note: None,
            source: None,
        };
        assert_eq!(mapping_basis(&p), None);
        assert_eq!(mapping_label(mapping_basis(&p)), "none");
        p.outcomes = vec![mapping(Basis::Official), mapping(Basis::Crosswalk)];
        assert_eq!(mapping_basis(&p), Some(Basis::Crosswalk));
        p.outcomes.push(mapping(Basis::Inferred));
        assert_eq!(mapping_basis(&p), Some(Basis::Inferred));
        assert_eq!(mapping_label(mapping_basis(&p)), "inferred");
    }

    #[test]
    fn the_catalog_s_laws_have_legal_requirements_and_the_rest_none() {
        let cat = crate::Catalog::embedded().expect("embedded catalog");
        let psti = cat.scheme_by_key("uk-psti@2023").expect("uk-psti");
        let p = psti.provision("Sch1-para1").expect("Sch1-para1");
        assert_eq!(psti.obligation(p), O::LegalRequirement);
        for s in cat.schemes.iter() {
            for p in &s.def.provisions {
                if s.obligation(p) == O::LegalRequirement {
                    assert_eq!(s.def.kind, SchemeKind::MandatoryLaw, "{} {}", s.key, &*p.id);
                }
            }
        }
    }
}
