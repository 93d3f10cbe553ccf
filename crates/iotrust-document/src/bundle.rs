//! The CRA technical file: a folder, a `.tar` or a `.zip` with the generated documents, the assessment
//! (JSON and HTML), the evidence files, the signed label if given, the files the info file
//! names, and a manifest with the SHA-256 of each part — an in-toto Statement v1 whose subjects
//! are the parts — signed as a DSSE envelope with the label keys (`iotrust_label::dsse`).
//! [`verify`] checks the signature and every hash.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use iotrust_assess::Assessment;
use iotrust_catalog::model::{DocumentKind, INFO_FIELDS};
use iotrust_catalog::Catalog;
use iotrust_label::dsse::{envelope_of, sign, verify_payload, SignedBy, Subject};
use iotrust_label::{Envelope, Key, PublicKey};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::build::{write, Inputs, Related};
use crate::error::DocumentError;
use crate::info::Info;
use crate::model::Document;
use crate::{pdf, render};

/// The envelope's payload type: an in-toto Statement, as labels are.
pub const MANIFEST_TYPE: &str = iotrust_label::dsse::PAYLOAD_TYPE;
/// The Statement's predicate type, which tells a technical file's manifest from a label.
pub const PREDICATE_TYPE: &str = "https://iotrust.dev/technical-file/v1";
pub const MANIFEST_FORMAT: &str = "iotrust-technical-file/2";
pub const MANIFEST: &str = "manifest.json";
pub const ENVELOPE: &str = "manifest.dsse.json";
/// Largest part read back from an archive (an authority's copy may be anyone's bytes).
const MAX_PART: u64 = 512 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// The manifest as signed: an in-toto Statement v1 whose subjects are the parts (path and
/// SHA-256), so in-toto tools can check them too; the predicate repeats them with their sizes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestStatement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Manifest,
}

/// The signed content: what the technical file holds, part by part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub product: String,
    pub catalog_version: String,
    pub made_on: Date,
    pub files: Vec<Entry>,
}

/// A part of the technical file: its path inside and its bytes.
pub struct Part {
    pub path: String,
    pub bytes: Vec<u8>,
}

pub struct TechnicalFile {
    pub parts: Vec<Part>,
    /// The Annex VII document, and the others written beside it.
    pub documents: Vec<Document>,
    /// Why no EU declaration is in the file, when there is none.
    pub no_declaration: Option<String>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256(b: &[u8]) -> String {
    hex(&sha2::Sha256::digest(b))
}

fn file_name(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.replace(['/', '\\'], "_"))
}

fn push_doc(parts: &mut Vec<Part>, stem: &str, d: &Document) {
    parts.push(Part {
        path: format!("{stem}.md"),
        bytes: render::markdown(d).into_bytes(),
    });
    parts.push(Part {
        path: format!("{stem}.html"),
        bytes: render::html(d).into_bytes(),
    });
    parts.push(Part {
        path: format!("{stem}.pdf"),
        bytes: pdf::pdf(d),
    });
}

/// A unique path under `dir` for a file called `name`.
fn unique_path(parts: &[Part], dir: &str, name: &str) -> String {
    let mut path = format!("{dir}/{name}");
    let mut n = 2;
    while parts.iter().any(|p| p.path == path) {
        path = format!("{dir}/{n}-{name}");
        n += 1;
    }
    path
}

/// Everything the technical file holds, signed with `key`.
pub fn assemble(
    cat: &Catalog,
    a: &Assessment,
    info: &Info,
    reports: Vec<String>,
    label: Option<&Path>,
    key: &Key,
    tool: &str,
) -> Result<TechnicalFile, DocumentError> {
    let mut parts = Vec::new();
    let mut documents = Vec::new();
    let mut related = Related {
        reports,
        ..Related::default()
    };
    let inputs = |related: Related| Inputs {
        catalog: cat,
        assessment: a,
        info,
        related,
        tool: tool.to_string(),
    };

    // the files the info file names: copied in, and the items point at them
    for field in INFO_FIELDS {
        let Some(v) = info.get(field) else { continue };
        if let Some(src) = info.attachment(&v) {
            let bytes = std::fs::read(&src).map_err(|e| DocumentError::io(&src, e))?;
            let path = unique_path(&parts, "attachments", &format!("{field}-{}", file_name(&v)));
            related.attachments.push((field.to_string(), path.clone()));
            parts.push(Part { path, bytes });
        }
    }
    let mut no_declaration = None;
    match write(DocumentKind::EuDeclaration, &inputs(related.clone())) {
        Ok(d) => {
            push_doc(&mut parts, "eu-declaration", &d);
            related.eu_declaration = Some(Ok("eu-declaration.pdf".into()));
            documents.push(d);
        }
        Err(DocumentError::Refused(r)) => {
            let why = format!(
                "{}{}",
                r.why,
                if r.failing.is_empty() {
                    String::new()
                } else {
                    format!(
                        ": {}",
                        r.failing
                            .iter()
                            .map(|f| format!("{} {}", f.provision, f.verdict))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
            no_declaration = Some(why.clone());
            related.eu_declaration = Some(Err(why));
        }
        Err(e @ DocumentError::NoForm { .. }) => {
            related.eu_declaration = Some(Err(e.to_string()));
            no_declaration = Some(e.to_string());
        }
        Err(e) => return Err(e),
    }
    let ui = write(DocumentKind::UserInformation, &inputs(related.clone()))?;
    push_doc(&mut parts, "user-information", &ui);
    related.user_information = Some("user-information.pdf".into());
    documents.push(ui);
    if let Some(l) = label {
        let bytes = std::fs::read(l).map_err(|e| DocumentError::io(l, e))?;
        let path = format!("label/{}", file_name(&l.display().to_string()));
        related.label = Some(path.clone());
        parts.push(Part { path, bytes });
    }
    let tf = write(DocumentKind::CraTechnicalFile, &inputs(related))?;
    push_doc(&mut parts, "technical-file", &tf);
    documents.insert(0, tf);

    let json = serde_json::to_string_pretty(a).map_err(|e| DocumentError::Sign(e.to_string()))?;
    parts.push(Part {
        path: "assessment/assessment.json".into(),
        bytes: (json + "\n").into_bytes(),
    });
    parts.push(Part {
        path: "assessment/assessment.html".into(),
        bytes: iotrust_assess::report::html(a).into_bytes(),
    });
    for e in &a.evidence {
        let bytes = std::fs::read(&e.file).map_err(|err| DocumentError::io(&e.file, err))?;
        let path = unique_path(&parts, "evidence", &file_name(&e.file));
        parts.push(Part { path, bytes });
    }

    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        product: format!(
            "{} {}",
            a.profile.identity.manufacturer, a.profile.identity.model
        ),
        catalog_version: a.catalog_version.clone(),
        made_on: a.evaluated_on,
        files: parts
            .iter()
            .map(|p| Entry {
                path: p.path.clone(),
                sha256: sha256(&p.bytes),
                bytes: p.bytes.len() as u64,
            })
            .collect(),
    };
    let statement = ManifestStatement {
        statement_type: iotrust_label::dsse::STATEMENT_TYPE.into(),
        subject: manifest
            .files
            .iter()
            .map(|e| Subject {
                name: e.path.clone(),
                digest: BTreeMap::from([("sha256".to_string(), e.sha256.clone())]),
            })
            .collect(),
        predicate_type: PREDICATE_TYPE.into(),
        predicate: manifest,
    };
    let body =
        serde_json::to_vec_pretty(&statement).map_err(|e| DocumentError::Sign(e.to_string()))?;
    let mut env = envelope_of(MANIFEST_TYPE, &body);
    sign(&mut env, key).map_err(|e| DocumentError::Sign(e.to_string()))?;
    let env_bytes =
        serde_json::to_vec_pretty(&env).map_err(|e| DocumentError::Sign(e.to_string()))?;
    parts.push(Part {
        path: MANIFEST.into(),
        bytes: body,
    });
    parts.push(Part {
        path: ENVELOPE.into(),
        bytes: env_bytes,
    });
    Ok(TechnicalFile {
        parts,
        documents,
        no_declaration,
    })
}

impl TechnicalFile {
    /// Write into folder `dir` (created; it must not exist or be empty).
    pub fn write_dir(&self, dir: &Path) -> Result<(), DocumentError> {
        if dir.exists()
            && std::fs::read_dir(dir)
                .map_err(|e| DocumentError::io(dir, e))?
                .next()
                .is_some()
        {
            return Err(DocumentError::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "folder exists and is not empty",
                ),
            ));
        }
        for p in &self.parts {
            let path = dir.join(&p.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| DocumentError::io(parent, e))?;
            }
            std::fs::write(&path, &p.bytes).map_err(|e| DocumentError::io(&path, e))?;
        }
        Ok(())
    }

    /// Write as a `.tar` archive (entries in manifest order, fixed times and modes, so two
    /// archives of the same parts are identical).
    pub fn write_tar(&self, path: &Path) -> Result<(), DocumentError> {
        let f = std::fs::File::create(path).map_err(|e| DocumentError::io(path, e))?;
        let mut b = tar::Builder::new(f);
        for p in &self.parts {
            let mut h = tar::Header::new_gnu();
            h.set_size(p.bytes.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, &p.path, p.bytes.as_slice())
                .map_err(|e| DocumentError::io(path, e))?;
        }
        b.into_inner()
            .and_then(|f| f.sync_all())
            .map_err(|e| DocumentError::io(path, e))?;
        Ok(())
    }

    /// Write as a `.zip` archive (the `zip` crate; entries in manifest order, deflated, with
    /// the archive format's earliest time and fixed modes, so two archives of the same parts
    /// are identical).
    pub fn write_zip(&self, path: &Path) -> Result<(), DocumentError> {
        let f = std::fs::File::create(path).map_err(|e| DocumentError::io(path, e))?;
        let mut z = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        let zerr = |e: zip::result::ZipError| DocumentError::io(path, std::io::Error::other(e));
        for p in &self.parts {
            z.start_file(p.path.as_str(), opts).map_err(zerr)?;
            std::io::Write::write_all(&mut z, &p.bytes).map_err(|e| DocumentError::io(path, e))?;
        }
        z.finish()
            .map_err(zerr)?
            .sync_all()
            .map_err(|e| DocumentError::io(path, e))?;
        Ok(())
    }

    /// Write as a folder, or as an archive when `path` ends in `.tar` or `.zip`.
    pub fn write_to(&self, path: &Path) -> Result<(), DocumentError> {
        match Archive::of(path) {
            Some(Archive::Tar) => self.write_tar(path),
            Some(Archive::Zip) => self.write_zip(path),
            None => self.write_dir(path),
        }
    }
}

/// The archive formats a technical file may be written as, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Archive {
    Tar,
    Zip,
}

impl Archive {
    pub fn of(path: &Path) -> Option<Archive> {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("tar") => Some(Archive::Tar),
            Some("zip") => Some(Archive::Zip),
            _ => None,
        }
    }
}

/// What a verified technical file holds and who signed it.
#[derive(Clone, Debug, Serialize)]
pub struct Verified {
    pub manifest: Manifest,
    pub signers: Vec<SignedBy>,
    pub untrusted: Vec<String>,
}

fn safe(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// Add one archive member to `out`: a regular file (`regular`) under a safe path (`safe_path`
/// and [`safe`]), at most [`MAX_PART`] bytes whatever its header claims, and not seen before.
fn take_entry(
    out: &mut BTreeMap<String, Vec<u8>>,
    path: String,
    safe_path: bool,
    regular: bool,
    size: u64,
    entry: impl std::io::Read,
) -> Result<(), String> {
    if !regular {
        return Err(format!("entry `{path}` is not a regular file"));
    }
    if !safe_path || !safe(&path) {
        return Err(format!("entry `{path}` has an unsafe path"));
    }
    let too_large = || format!("entry `{path}` is larger than {MAX_PART} bytes");
    if size > MAX_PART {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    // the declared size may lie: never read more than the limit
    entry
        .take(MAX_PART + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("entry `{path}`: {e}"))?;
    if bytes.len() as u64 > MAX_PART {
        return Err(too_large());
    }
    if out.contains_key(&path) {
        return Err(format!("entry `{path}` appears twice"));
    }
    out.insert(path, bytes);
    Ok(())
}

/// Every file of a `.zip` technical file, by path inside: only regular files under safe
/// paths, each at most [`MAX_PART`] bytes, none twice.
fn read_zip(at: &Path) -> Result<BTreeMap<String, Vec<u8>>, DocumentError> {
    let bad = |m: String| DocumentError::Verify(format!("{}: {m}", at.display()));
    let f = std::fs::File::open(at).map_err(|e| DocumentError::io(at, e))?;
    let mut ar = zip::ZipArchive::new(f).map_err(|e| bad(format!("not a zip archive: {e}")))?;
    let mut out = BTreeMap::new();
    for i in 0..ar.len() {
        let entry = ar
            .by_index(i)
            .map_err(|e| bad(format!("broken zip entry {i}: {e}")))?;
        let path = entry.name().to_string();
        if entry.is_dir() {
            continue;
        }
        let regular = !entry.is_symlink() && entry.is_file();
        let enclosed = entry.enclosed_name().is_some();
        let size = entry.size();
        take_entry(&mut out, path, enclosed, regular, size, entry).map_err(bad)?;
    }
    Ok(out)
}

/// Every file of a technical file folder, `.tar` or `.zip` archive, by path inside.
pub fn read_parts(at: &Path) -> Result<BTreeMap<String, Vec<u8>>, DocumentError> {
    let mut out = BTreeMap::new();
    if at.is_dir() {
        let mut stack: Vec<PathBuf> = vec![at.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).map_err(|e| DocumentError::io(&d, e))? {
                let e = e.map_err(|err| DocumentError::io(&d, err))?;
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(at)
                        .unwrap_or(&p)
                        .to_string_lossy()
                        .replace('\\', "/");
                    let bytes = std::fs::read(&p).map_err(|err| DocumentError::io(&p, err))?;
                    out.insert(rel, bytes);
                }
            }
        }
        return Ok(out);
    }
    if Archive::of(at) == Some(Archive::Zip) {
        return read_zip(at);
    }
    let f = std::fs::File::open(at).map_err(|e| DocumentError::io(at, e))?;
    let mut ar = tar::Archive::new(f);
    let bad = |m: String| DocumentError::Verify(format!("{}: {m}", at.display()));
    for entry in ar
        .entries()
        .map_err(|e| bad(format!("not a tar archive: {e}")))?
    {
        let mut entry = entry.map_err(|e| bad(format!("broken tar entry: {e}")))?;
        let kind = entry.header().entry_type();
        let path = entry
            .path()
            .map_err(|e| bad(format!("entry with an unreadable path: {e}")))?
            .to_string_lossy()
            .into_owned();
        if kind.is_dir() {
            continue;
        }
        let size = entry.size();
        take_entry(&mut out, path, true, kind.is_file(), size, &mut entry).map_err(bad)?;
    }
    Ok(out)
}

/// Check a technical file: the manifest's signature by a trusted key, then every part's
/// SHA-256; a part changed, missing or added after signing fails it, naming the file.
pub fn verify(at: &Path, trusted: &[PublicKey]) -> Result<Verified, DocumentError> {
    let parts = read_parts(at)?;
    verify_parts(&parts, trusted)
}

pub fn verify_parts(
    parts: &BTreeMap<String, Vec<u8>>,
    trusted: &[PublicKey],
) -> Result<Verified, DocumentError> {
    let fail = |m: String| DocumentError::Verify(m);
    let env_bytes = parts
        .get(ENVELOPE)
        .ok_or_else(|| fail(format!("no `{ENVELOPE}`: the manifest is not signed")))?;
    let env: Envelope = serde_json::from_slice(env_bytes)
        .map_err(|e| fail(format!("`{ENVELOPE}` is not a DSSE envelope: {e}")))?;
    let v = verify_payload(&env, MANIFEST_TYPE, trusted)
        .map_err(|e| fail(format!("`{ENVELOPE}`: {e}")))?;
    let statement: ManifestStatement = serde_json::from_slice(&v.body).map_err(|e| {
        fail(format!(
            "the signed manifest is not an in-toto Statement of an {MANIFEST_FORMAT} manifest: {e}"
        ))
    })?;
    if statement.statement_type != iotrust_label::dsse::STATEMENT_TYPE
        || statement.predicate_type != PREDICATE_TYPE
    {
        return Err(fail(format!(
            "the signed statement is `{}` of `{}` (expected `{}` of `{PREDICATE_TYPE}`): not a technical file's manifest",
            statement.statement_type,
            statement.predicate_type,
            iotrust_label::dsse::STATEMENT_TYPE
        )));
    }
    let manifest = statement.predicate;
    // the subjects (what in-toto tools check) and the predicate's files must be the same list
    let subjects: Vec<(&str, Option<&String>)> = statement
        .subject
        .iter()
        .map(|s| (s.name.as_str(), s.digest.get("sha256")))
        .collect();
    let files: Vec<(&str, Option<&String>)> = manifest
        .files
        .iter()
        .map(|e| (e.path.as_str(), Some(&e.sha256)))
        .collect();
    if subjects != files {
        return Err(fail(
            "the signed statement's subjects and its manifest's files differ".into(),
        ));
    }
    if manifest.format != MANIFEST_FORMAT {
        return Err(fail(format!(
            "manifest format `{}` (expected `{MANIFEST_FORMAT}`)",
            manifest.format
        )));
    }
    if let Some(m) = parts.get(MANIFEST) {
        if *m != v.body {
            return Err(fail(format!("`{MANIFEST}` differs from the manifest inside `{ENVELOPE}`: it was changed after signing")));
        }
    }
    let mut problems = Vec::new();
    for e in &manifest.files {
        match parts.get(&e.path) {
            None => problems.push(format!("`{}` is missing", e.path)),
            Some(b) => {
                let got = sha256(b);
                if got != e.sha256 {
                    problems.push(format!(
                        "`{}` was changed after signing (SHA-256 {got}, the signed manifest says {})",
                        e.path, e.sha256
                    ));
                }
            }
        }
    }
    for p in parts.keys() {
        if p != MANIFEST && p != ENVELOPE && !manifest.files.iter().any(|e| &e.path == p) {
            problems.push(format!(
                "`{p}` is not in the signed manifest: it was added after signing"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(fail(problems.join("; ")));
    }
    Ok(Verified {
        manifest,
        signers: v.signers,
        untrusted: v.untrusted,
    })
}
