//! SBOMs as makers produce them: CycloneDX JSON (1.4–1.6) and SPDX JSON (2.2–2.3). An SBOM
//! that passes the structural checks here sets the product fact `dev.sbom` (an SBOM is kept)
//! with strength *documented*, and the evidence carries a summary: the product, how many
//! components, how many carry a package URL or CPE. Full schema validation is the job of the
//! formats' own maintained validators (the tests run `cyclonedx-py`'s validator and
//! `pyspdxtools` on the fixtures); these checks catch files that are not SBOMs at all, or that
//! lack what every SBOM of that format must have, with the field that is wrong.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{err, json_err, Format};
use crate::error::ProbeError;
use crate::evidence::{self, Evidence, Sbom, Source, Tool};

fn str_field<'a>(file: &str, v: &'a Value, path: &str, name: &str) -> Result<&'a str, ProbeError> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            err(
                file,
                None,
                Some(&format!("{path}{name}")),
                "missing or not a string",
            )
        })
}

fn document(file: &str, format: Format, tool: Tool, sbom: Sbom) -> Evidence {
    let when = super::now();
    let mut facts = BTreeMap::new();
    facts.insert("dev.sbom".to_string(), Value::Bool(true));
    Evidence {
        format: evidence::FORMAT.into(),
        kind: "document".into(),
        tool,
        started: when.clone(),
        finished: when,
        scope: Vec::new(),
        vantage: None,
        devices: Vec::new(),
        facts,
        source: Some(Source {
            file: file.to_string(),
            format: format.name().to_string(),
        }),
        sbom: Some(sbom),
        state: None,
    }
}

/// Count components (nested ones too) and those with a purl or CPE.
fn cdx_components(
    file: &str,
    list: &[Value],
    path: &str,
    depth: usize,
    n: &mut usize,
    ided: &mut usize,
) -> Result<(), ProbeError> {
    if depth > 32 {
        return Err(err(
            file,
            None,
            Some(path),
            "components nested more than 32 deep",
        ));
    }
    for (i, c) in list.iter().enumerate() {
        let p = format!("{path}[{i}].");
        if !c.is_object() {
            return Err(err(
                file,
                None,
                Some(&format!("{path}[{i}]")),
                "a component is an object",
            ));
        }
        str_field(file, c, &p, "type")?;
        str_field(file, c, &p, "name")?;
        *n += 1;
        if c.get("purl").and_then(Value::as_str).is_some()
            || c.get("cpe").and_then(Value::as_str).is_some()
        {
            *ided += 1;
        }
        if let Some(sub) = c.get("components") {
            let sub = sub.as_array().ok_or_else(|| {
                err(
                    file,
                    None,
                    Some(&format!("{p}components")),
                    "expected an array",
                )
            })?;
            cdx_components(file, sub, &format!("{p}components"), depth + 1, n, ided)?;
        }
    }
    Ok(())
}

/// CycloneDX JSON.
pub fn cyclonedx(file: &str, text: &str) -> Result<Evidence, ProbeError> {
    if text.trim_start().starts_with('<') {
        return Err(err(
            file,
            Some(1),
            None,
            "CycloneDX XML is not read; export the SBOM as CycloneDX JSON",
        ));
    }
    let v: Value = serde_json::from_str(text).map_err(|e| json_err(file, &e))?;
    if str_field(file, &v, "", "bomFormat")? != "CycloneDX" {
        return Err(err(file, None, Some("bomFormat"), "expected `CycloneDX`"));
    }
    let spec = str_field(file, &v, "", "specVersion")?;
    if !matches!(spec, "1.4" | "1.5" | "1.6") {
        return Err(err(
            file,
            None,
            Some("specVersion"),
            format!("CycloneDX `{spec}` is not read (1.4, 1.5, 1.6)"),
        ));
    }
    let (mut n, mut ided) = (0, 0);
    if let Some(c) = v.get("components") {
        let list = c
            .as_array()
            .ok_or_else(|| err(file, None, Some("components"), "expected an array"))?;
        cdx_components(file, list, "components", 0, &mut n, &mut ided)?;
    }
    let meta = v.get("metadata");
    let product = meta.and_then(|m| m.get("component")).and_then(|c| {
        let name = c.get("name")?.as_str()?;
        Some(match c.get("version").and_then(Value::as_str) {
            Some(ver) => format!("{name} {ver}"),
            None => name.to_string(),
        })
    });
    let tool = meta
        .and_then(|m| m.get("tools"))
        .and_then(|t| {
            // 1.5+: {"components": [...]}; 1.4: [...]
            let list = t.get("components").unwrap_or(t).as_array()?;
            let first = list.first()?;
            Some(Tool {
                name: first.get("name")?.as_str()?.to_string(),
                version: first
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            })
        })
        .unwrap_or(Tool {
            name: "CycloneDX".into(),
            version: String::new(),
        });
    Ok(document(
        file,
        Format::CycloneDx,
        tool,
        Sbom {
            spec: format!("CycloneDX {spec}"),
            product: product.map(|p| evidence::sanitize(&p, 120)),
            components: n,
            identified: ided,
        },
    ))
}

/// SPDX JSON.
pub fn spdx(file: &str, text: &str) -> Result<Evidence, ProbeError> {
    let v: Value = serde_json::from_str(text).map_err(|_| {
        err(file, Some(1), None, "not SPDX JSON (tag-value and RDF SPDX are not read; convert with `pyspdxtools -i FILE -o FILE.json`)")
    })?;
    let spec = str_field(file, &v, "", "spdxVersion")?;
    if !matches!(spec, "SPDX-2.2" | "SPDX-2.3") {
        return Err(err(
            file,
            None,
            Some("spdxVersion"),
            format!("`{spec}` is not read (SPDX-2.2, SPDX-2.3)"),
        ));
    }
    if str_field(file, &v, "", "SPDXID")? != "SPDXRef-DOCUMENT" {
        return Err(err(
            file,
            None,
            Some("SPDXID"),
            "expected `SPDXRef-DOCUMENT`",
        ));
    }
    str_field(file, &v, "", "name")?;
    str_field(file, &v, "", "documentNamespace")?;
    if str_field(file, &v, "", "dataLicense")? != "CC0-1.0" {
        return Err(err(file, None, Some("dataLicense"), "expected `CC0-1.0`"));
    }
    let ci = v
        .get("creationInfo")
        .ok_or_else(|| err(file, None, Some("creationInfo"), "missing"))?;
    str_field(file, ci, "creationInfo.", "created")?;
    let creators = ci
        .get("creators")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            err(
                file,
                None,
                Some("creationInfo.creators"),
                "missing or empty",
            )
        })?;
    let packages = match v.get("packages") {
        None => &[][..],
        Some(p) => p
            .as_array()
            .ok_or_else(|| err(file, None, Some("packages"), "expected an array"))?
            .as_slice(),
    };
    let mut ided = 0;
    for (i, p) in packages.iter().enumerate() {
        let path = format!("packages[{i}].");
        str_field(file, p, &path, "SPDXID")?;
        str_field(file, p, &path, "name")?;
        str_field(file, p, &path, "downloadLocation")?;
        let has_id = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .is_some_and(|refs| {
                refs.iter().any(|r| {
                    matches!(
                        r.get("referenceType").and_then(Value::as_str),
                        Some("purl" | "cpe23Type" | "cpe22Type")
                    )
                })
            });
        if has_id {
            ided += 1;
        }
    }
    // The package the document describes: documentDescribes, else a DESCRIBES relationship.
    let described = v
        .get("documentDescribes")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .map(String::from)
        .or_else(|| {
            v.get("relationships")?.as_array()?.iter().find_map(|r| {
                (r.get("spdxElementId")?.as_str()? == "SPDXRef-DOCUMENT"
                    && r.get("relationshipType")?.as_str()? == "DESCRIBES")
                    .then(|| r.get("relatedSpdxElement")?.as_str().map(String::from))?
            })
        });
    let product = described.and_then(|id| {
        let p = packages
            .iter()
            .find(|p| p.get("SPDXID").and_then(Value::as_str) == Some(id.as_str()))?;
        let name = p.get("name")?.as_str()?;
        Some(match p.get("versionInfo").and_then(Value::as_str) {
            Some(ver) => format!("{name} {ver}"),
            None => name.to_string(),
        })
    });
    let tool_name = creators
        .iter()
        .filter_map(Value::as_str)
        .find_map(|c| c.strip_prefix("Tool:").map(|t| t.trim().to_string()))
        .unwrap_or_else(|| "SPDX".into());
    Ok(document(
        file,
        Format::Spdx,
        Tool {
            name: evidence::sanitize(&tool_name, 80),
            version: String::new(),
        },
        Sbom {
            spec: spec.to_string(),
            product: product.map(|p| evidence::sanitize(&p, 120)),
            components: packages.len(),
            identified: ided,
        },
    ))
}
