//! A written document: its items in the catalog's order, each with its value or its gap.

use iotrust_catalog::model::{Confidence, DocumentKind};
use jiff::civil::Date;
use serde::Serialize;

/// The value of one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Value {
    /// Text (a paragraph).
    Text { text: String },
    /// A list of lines (provisions, files, identity fields).
    Lines { lines: Vec<String> },
    /// A file the technical file carries (its path inside the file).
    File { path: String, note: String },
    /// A signature line for the named signatory.
    Signature { name: Option<String> },
    /// Only asked for where it applies, and not given.
    NotApplicable { note: String },
    /// Asked for and not available: what to add, and where.
    Missing { what: String },
}

impl Value {
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing { .. })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub provision: String,
    pub asks: String,
    pub value: Value,
    /// What stays open although a value is given (an outcome not met, a test report missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
    pub source: String,
    pub confidence: Confidence,
}

/// A gap: an item that is missing or open.
#[derive(Clone, Debug, Serialize)]
pub struct Gap {
    pub item: String,
    pub provision: String,
    pub what: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Document {
    pub format: String,
    pub kind: DocumentKind,
    /// The catalog's form (`eu-declaration-red`).
    pub form: String,
    pub title: String,
    /// `uk-psti@2023`
    pub scheme: String,
    /// The law's title from the catalog.
    pub law: String,
    /// `Manufacturer Model`
    pub product: String,
    pub catalog_version: String,
    /// The day the document was made (the evaluation date).
    pub made_on: Date,
    pub tool: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub items: Vec<Item>,
}

pub const FORMAT: &str = "iotrust-document/1";

impl Document {
    /// Every item that is missing or open, in order.
    pub fn gaps(&self) -> Vec<Gap> {
        self.items
            .iter()
            .filter_map(|i| {
                let what = match (&i.value, &i.gap) {
                    (Value::Missing { what }, _) => what.clone(),
                    (_, Some(g)) => g.clone(),
                    _ => return None,
                };
                Some(Gap {
                    item: i.id.clone(),
                    provision: i.provision.clone(),
                    what,
                })
            })
            .collect()
    }

    /// File name stem for the kind (`psti-statement`).
    pub fn stem(&self) -> String {
        self.kind.to_string()
    }
}
