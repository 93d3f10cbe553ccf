//! Reading `iotrust-profile/1` files: the facts of version 1 that version 2 replaced, and what
//! each becomes. A replaced fact maps onto its successors where its old meaning says exactly
//! what they are; where it does not (a conclusion such as "brute-force protection: true" says
//! nothing of the mechanism), reading it is an error naming the facts that replaced it, and
//! `iotrust profile upgrade` leaves those facts for the maker to state.

use iotrust_catalog::expr::FactValue;

/// The version 2 facts and values one version 1 value stands for.
pub type Mapped = Vec<(&'static str, FactValue)>;

/// A version 1 fact that version 2 no longer has.
pub struct Replaced {
    pub old: &'static str,
    /// The facts that took its place.
    pub into: &'static [&'static str],
    /// What each old value means in version 2, if it means something exact.
    pub map: fn(&FactValue) -> Option<Mapped>,
    /// Why it was replaced, and what to state instead.
    pub why: &'static str,
}

fn t() -> FactValue {
    FactValue::Bool(true)
}

/// Every fact version 2 replaced.
pub const REPLACED: &[Replaced] = &[
    Replaced {
        old: "updates.secure",
        into: &["updates.signed", "updates.verified", "updates.anti_rollback"],
        // version 1 defined `secure` as authenticated + integrity-checked + rollback-protected
        map: |v| match v {
            FactValue::Bool(true) => Some(vec![
                ("updates.signed", t()),
                ("updates.verified", t()),
                ("updates.anti_rollback", t()),
            ]),
            _ => None,
        },
        why: "it bundled three mechanisms; `false` did not say which one is missing",
    },
    Replaced {
        old: "updates.best_practice_crypto",
        into: &["updates.signature_algorithm"],
        map: |_| None,
        why: "it was a conclusion; state the algorithm that protects update images and the catalog judges it",
    },
    Replaced {
        old: "auth.brute_force_protection",
        into: &["auth.brute_force", "auth.attempts_per_hour"],
        map: |v| match v {
            FactValue::Bool(false) => Some(vec![("auth.brute_force", FactValue::Str("none".into()))]),
            _ => None,
        },
        why: "it was a conclusion; state what happens after failed logins (none, fixed-delay, back-off, lock-out) and the attempts an hour it allows",
    },
    Replaced {
        old: "auth.passwords_unpredictable",
        into: &["auth.default_password_origin"],
        map: |_| None,
        why: "it was a conclusion; state how the pre-installed password is made (random per unit, keyed derivation, derived from an identifier, sequential, shared)",
    },
    Replaced {
        old: "auth.best_practice_crypto",
        into: &["auth.password_storage", "[[interface]] authentication and transport"],
        map: |_| None,
        why: "it was a conclusion; state how passwords are stored and, per interface, how it authenticates and over what transport",
    },
    Replaced {
        old: "crypto.best_practice",
        into: &["comms.plain_interfaces", "[[interface]] transport"],
        map: |_| None,
        why: "it was a conclusion; state, per interface, what protects its traffic (or list the interfaces that carry it in plain text)",
    },
    Replaced {
        old: "surface.least_privilege",
        into: &["surface.privilege_separation"],
        map: |_| None,
        why: "it was a conclusion; state how privileges are split (all as root, some separated, every service unprivileged, sandboxed)",
    },
    Replaced {
        old: "integrity.secure_boot",
        into: &["integrity.boot_verification", "integrity.root_of_trust"],
        map: |_| None,
        why: "it was a conclusion; state what is checked at boot (nothing, a checksum, a signature) and where the key it trusts is kept (rewritable flash, ROM or fuses, secure element, TEE)",
    },
    Replaced {
        old: "crypto.reviewed_implementations",
        into: &["crypto.implementations"],
        map: |_| None,
        why: "it was a conclusion; state where the cryptographic code comes from (a maintained library, an evaluated module, in-house)",
    },
    Replaced {
        old: "updates.mechanism",
        into: &["updates.updatable", "updates.automatic"],
        // each value said both things exactly: whether the product can be updated, and
        // whether it installs updates by itself
        map: |v| match v {
            FactValue::Str(s) => match s.as_str() {
                "none" => Some(vec![
                    ("updates.updatable", FactValue::Bool(false)),
                    ("updates.automatic", FactValue::Bool(false)),
                ]),
                "manual" => Some(vec![
                    ("updates.updatable", t()),
                    ("updates.automatic", FactValue::Bool(false)),
                ]),
                "automatic" => Some(vec![("updates.updatable", t()), ("updates.automatic", t())]),
                _ => None,
            },
            _ => None,
        },
        why: "it asked two questions at once (can the product be updated; does it install updates by itself); a document that shows over-the-air updates answers only the first",
    },
    Replaced {
        old: "input.validated",
        into: &["input.robustness_testing", "input.malformed_input_failure"],
        map: |_| None,
        why: "it was a conclusion; state how the parsers were tested against bad input (none, malformed-input tests, fuzzing) and whether any test or advisory shows bad input crashing the product",
    },
    Replaced {
        old: "resilience.dos",
        into: &["resilience.rate_limiting", "resilience.flood_test", "input.malformed_input_failure"],
        map: |_| None,
        why: "it was a conclusion; state whether the services rate-limit clients, what a flood test showed, and whether a crafted input crashes the product",
    },
    Replaced {
        old: "setup.secure_by_default",
        into: &[
            "setup.security_features_off_by_default",
            "setup.factory_reset",
            "auth.factory_default_password",
            "auth.setup_replaces_default_password",
        ],
        map: |_| None,
        why: "it was a conclusion; list the security features that ship switched off, say whether the user can reset to the factory default, and what password the factory default state accepts",
    },
    Replaced {
        old: "dev.secure_development",
        into: &["dev.process", "dev.code_review", "dev.static_analysis"],
        map: |v| match v {
            FactValue::Bool(false) => Some(vec![("dev.process", FactValue::Str("none".into()))]),
            _ => None,
        },
        why: "it was a conclusion; name the written process (IEC 62443-4-1, ISO/IEC 27034, NIST SSDF, Microsoft SDL, OWASP SAMM, your own) and say whether code is reviewed and statically analysed",
    },
    Replaced {
        old: "data.minimised",
        into: &["data.inventory", "data.items_without_purpose", "data.retention_enforced"],
        map: |_| None,
        why: "it was a conclusion; say whether every personal data item is listed with its purpose and retention, which items serve no purpose of the product, and whether retention is enforced",
    },
    Replaced {
        old: "crypto.key_management",
        into: &["storage.per_device_parameters", "crypto.key_rotation"],
        map: |_| None,
        why: "it was a conclusion; say whether keys differ per unit and whether they can be replaced or revoked in the field",
    },
    Replaced {
        old: "storage.secure_parameters",
        into: &["storage.secrets_at_rest"],
        map: |_| None,
        why: "it was a conclusion; state how stored secrets are protected (plain text, obfuscated, encrypted with a device key, secure element, TEE)",
    },
    Replaced {
        old: "docs.user_information",
        into: &[
            "docs.manufacturer_contact",
            "docs.vulnerability_contact",
            "docs.intended_use",
            "docs.support_period_stated",
            "docs.secure_use_instructions",
        ],
        // version 1 defined it as covering all five items
        map: |v| match v {
            FactValue::Bool(true) => Some(vec![
                ("docs.manufacturer_contact", t()),
                ("docs.vulnerability_contact", t()),
                ("docs.intended_use", t()),
                ("docs.support_period_stated", t()),
                ("docs.secure_use_instructions", t()),
            ]),
            _ => None,
        },
        why: "it bundled five items of user information; `false` did not say which one is missing",
    },
];

/// The replacement record of a version 1 fact id, if version 2 replaced it.
pub fn replaced(old: &str) -> Option<&'static Replaced> {
    REPLACED.iter().find(|r| r.old == old)
}

impl Replaced {
    /// The message for a value that cannot be mapped, or for the fact used in version 2.
    pub fn message(&self, v1: bool) -> String {
        let how = if v1 {
            "run `iotrust profile upgrade FILE` and state them"
        } else {
            "state them instead"
        };
        format!(
            "`{}` was replaced in iotrust-profile/2 by {} ({}); {how}",
            self.old,
            self.into.join(", "),
            self.why
        )
    }
}

/// What `upgrade` did: the new text and every fact the maker must now state.
pub struct Upgraded {
    pub text: String,
    /// `auth.brute_force_protection = true: state auth.brute_force, auth.attempts_per_hour (…)`
    pub to_state: Vec<String>,
}

/// Rewrite a version 1 TOML profile as version 2, keeping its comments and layout. Replaced
/// facts whose value maps exactly become their successors; the others are removed and listed
/// in a comment at the top (and in [`Upgraded::to_state`]) — never guessed. Evidence `covers`
/// lists name the successors. The result is read back as version 2 before it is returned.
pub fn upgrade(
    cat: &iotrust_catalog::Catalog,
    file: &str,
    text: &str,
) -> Result<Upgraded, crate::profile::InputError> {
    use toml_edit::{DocumentMut, Item, Value};
    let err = |message: String| crate::profile::InputError {
        file: file.to_string(),
        line: 1,
        field: None,
        message,
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| err(format!("not TOML: {e}")))?;
    match doc.get("schema").and_then(Item::as_str) {
        Some(crate::profile::SCHEMA_V1) => {}
        Some(crate::profile::SCHEMA) => {
            return Err(err(format!("already {}", crate::profile::SCHEMA)))
        }
        other => {
            return Err(err(format!(
                "not an {} profile (schema = {other:?})",
                crate::profile::SCHEMA_V1
            )))
        }
    }
    doc["schema"] = toml_edit::value(crate::profile::SCHEMA);
    let mut to_state = Vec::new();
    let sections: Vec<String> = doc.iter().map(|(k, _)| k.to_string()).collect();
    for section in sections {
        let Some(table) = doc.get_mut(&section).and_then(Item::as_table_mut) else {
            continue;
        };
        let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
        for key in keys {
            let id = format!("{section}.{key}");
            let Some(r) = replaced(&id) else { continue };
            let old = table.get(&key).and_then(Item::as_value).cloned();
            table.remove(&key);
            let old_fact = old.as_ref().and_then(|v| match v {
                Value::Boolean(b) => Some(FactValue::Bool(*b.value())),
                Value::String(x) => Some(FactValue::Str(x.value().clone())),
                _ => None,
            });
            let shown = old
                .as_ref()
                .map(|v| {
                    let mut v = v.clone();
                    v.decor_mut().clear();
                    v.to_string()
                })
                .unwrap_or_default();
            match old_fact.as_ref().and_then(|v| (r.map)(v)) {
                Some(mapped) => {
                    for (new, nv) in mapped {
                        let Some(short) = new.strip_prefix(&format!("{section}.")) else {
                            continue;
                        };
                        if table.contains_key(short) {
                            continue; // already stated: the file's own value wins
                        }
                        if let FactValue::Bool(b) = nv {
                            table.insert(short, toml_edit::value(b));
                        } else if let FactValue::Str(s) = nv {
                            table.insert(short, toml_edit::value(s));
                        }
                    }
                }
                None => to_state.push(format!(
                    "{id} = {shown}: state {} ({})",
                    r.into.join(", "),
                    r.why
                )),
            }
        }
    }
    // evidence that covered a replaced fact covers its successors
    if let Some(items) = doc
        .get_mut("evidence")
        .and_then(Item::as_array_of_tables_mut)
    {
        for t in items.iter_mut() {
            let Some(covers) = t.get_mut("covers").and_then(Item::as_array_mut) else {
                continue;
            };
            // keep the list's layout: each successor takes the place (and spacing) of the
            // fact it replaces
            let old: Vec<Value> = covers.iter().cloned().collect();
            let mut seen: Vec<String> = Vec::new();
            let mut out: Vec<Value> = Vec::new();
            for v in old {
                let ids: Vec<String> = match v.as_str().and_then(replaced) {
                    Some(r) => r
                        .into
                        .iter()
                        .filter(|n| cat.fact(n).is_some())
                        .map(|n| n.to_string())
                        .collect(),
                    None => match v.as_str() {
                        Some(id) => vec![id.to_string()],
                        None => continue,
                    },
                };
                for (i, id) in ids.into_iter().enumerate() {
                    if seen.contains(&id) {
                        continue;
                    }
                    let mut nv = Value::from(id.as_str());
                    if i == 0 {
                        *nv.decor_mut() = v.decor().clone();
                    } else {
                        nv.decor_mut().set_prefix(" ");
                    }
                    seen.push(id);
                    out.push(nv);
                }
            }
            let trailing = covers.trailing().clone();
            let comma = covers.trailing_comma();
            covers.clear();
            for v in out {
                covers.push_formatted(v);
            }
            covers.set_trailing(trailing);
            covers.set_trailing_comma(comma);
        }
    }
    let mut text = doc.to_string();
    if !to_state.is_empty() {
        let mut head = String::from(
            "# Upgraded from iotrust-profile/1 by `iotrust profile upgrade`. Version 2 asks for what the\n# product does instead of a conclusion; these facts were removed and are unknown until stated:\n",
        );
        for t in &to_state {
            head.push_str(&format!("#   - {t}\n"));
        }
        text = head + &text;
    }
    // what we wrote must read as version 2
    crate::profile::parse(cat, &text, crate::profile::InputFormat::Toml, file)?;
    Ok(Upgraded { text, to_state })
}
