#![doc = include_str!("../README.md")]

pub mod api;
mod client;
pub mod report;

pub use api::{Acknowledgement, EvidenceFile, FieldReceipt, Registration, Submission, Submitted};
pub use client::{ClientError, RegistryClient};
pub use report::{FieldReport, ProductRef, ReportProblem, ReportState, FIELD_REPORT_TYPE};
