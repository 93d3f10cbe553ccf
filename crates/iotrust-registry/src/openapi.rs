//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`.
//!
//! Written by hand next to the routes; a test walks every documented operation against a
//! running server, so a route that is documented but missing (or the reverse) fails.

use serde_json::{json, Value};

fn error_response(what: &str) -> Value {
    json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(schema: &str, what: &str) -> Value {
    json!({"description": what, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 200}, "description": "Label id (`iotrust label show` prints it)."})
}

fn status_change(action: &str, who: &str) -> Value {
    json!({
        "summary": format!("{action} a product's label, with a reason ({who})."),
        "operationId": action.to_lowercase(),
        "security": [{"token": []}],
        "parameters": [id_param()],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reason"}}}},
        "responses": {
            "200": {"description": "New status.", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string", "enum": ["active", "suspended", "revoked"]}}}}}},
            "400": error_response("No reason, or a malformed body."),
            "401": error_response("Missing or unknown token."),
            "403": error_response("The token may not change this product."),
            "404": error_response("No such product."),
            "409": error_response("The label's status does not allow this change."),
            "429": error_response("Rate limited; see Retry-After.")
        }
    })
}

/// The document.
pub fn document() -> Value {
    let common = |v: Value| {
        let mut v = v;
        if let Some(r) = v.get_mut("responses").and_then(Value::as_object_mut) {
            r.entry("429")
                .or_insert_with(|| error_response("Rate limited; see Retry-After."));
        }
        v
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "iotrust label registry",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Signed consumer-IoT security labels: submission by manufacturers, lookup for buyers, bulk checks for retailers and public buyers, status changes by issuing bodies. Errors are JSON objects with an `error` message; every API route is rate-limited per client address."
        },
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer", "description": "A manufacturer's, authority's, provider's or lab's API token (the registry stores only its SHA-256)."}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Reason": {"type": "object", "required": ["reason"], "additionalProperties": false, "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000}}},
                "Envelope": {"type": "object", "required": ["payloadType", "payload", "signatures"], "description": "DSSE envelope around an in-toto Statement whose predicate is an iotrust-label/1 document (schemas/label.schema.json).",
                    "properties": {"payloadType": {"type": "string"}, "payload": {"type": "string", "contentEncoding": "base64"},
                        "signatures": {"type": "array", "items": {"type": "object", "required": ["keyid", "sig"], "properties": {"keyid": {"type": "string"}, "sig": {"type": "string"}}}}}},
                "Submission": {"type": "object", "required": ["label", "profile"], "additionalProperties": false, "properties": {
                    "label": {"$ref": "#/components/schemas/Envelope"},
                    "profile": {"type": "string", "description": "The exact profile text the label was issued for; its SHA-256 must be the label's subject digest."},
                    "profile_format": {"type": "string", "enum": ["toml", "json"], "default": "toml"},
                    "evidence": {"type": "array", "items": {"type": "object", "required": ["name", "document"], "additionalProperties": false, "properties": {"name": {"type": "string", "description": "The file name the profile's `evidence` section uses."}, "document": {"type": "object", "description": "An iotrust-evidence/1 document."}}}},
                    "assessment": {"type": "object", "description": "The submitter's iotrust-assessment/1 (kept for the record; the registry assesses the profile itself)."}}},
                "Submitted": {"type": "object", "properties": {"id": {"type": "string"}, "page": {"type": "string"}, "event": {"type": "string", "enum": ["registered", "updated"]}, "assessed_tier": {"type": ["string", "null"]}}},
                "Support": {"type": "object", "properties": {"end_date": {"type": ["string", "null"], "format": "date"}, "status": {"type": "string", "enum": ["supported", "ending-soon", "unsupported", "unknown"]}, "days_left": {"type": ["integer", "null"]}}},
                "Event": {"type": "object", "properties": {"at": {"type": "string", "format": "date"}, "event": {"type": "string"}, "detail": {"type": "string"}}},
                "Product": {"type": "object", "properties": {
                    "id": {"type": "string"}, "status": {"type": "string", "enum": ["active", "under-review", "expired", "suspended", "revoked"]},
                    "tier": {"type": ["string", "null"], "description": "The lower of the label's tier and the registry's assessment."},
                    "label_tier": {"type": ["string", "null"]}, "assessed_tier": {"type": ["string", "null"]}, "catalog_version": {"type": "string"},
                    "support": {"$ref": "#/components/schemas/Support"},
                    "markets": {"type": "object", "additionalProperties": {"type": "string", "enum": ["yes", "no", "undetermined"]}},
                    "profiles": {"type": "array", "items": {"type": "string"}},
                    "levels": {"type": "array", "items": {"type": "object", "properties": {"scheme": {"type": "string"}, "title": {"type": "string"}, "jurisdiction": {"type": "string"}, "level": {"type": ["string", "null"]}, "conformance": {"type": "string"}}}},
                    "field": {"$ref": "#/components/schemas/Field"},
                    "label": {"type": "object", "description": "The iotrust-label/1 document."},
                    "history": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}},
                "Field": {"type": "object", "description": "Seen compromised in the field: providers' reports summed up (devices: each provider's latest report, summed over providers), the review threshold, the manufacturer's notice and the EU CRA Art. 14 clock.", "properties": {
                    "seen_compromised": {"type": "boolean", "description": "A provider has an open report."},
                    "devices": {"type": "integer", "minimum": 0}, "providers": {"type": "integer", "minimum": 0},
                    "detectors": {"type": "array", "items": {"type": "string"}},
                    "first_seen": {"type": ["string", "null"], "format": "date-time"}, "last_seen": {"type": ["string", "null"], "format": "date-time"},
                    "reports": {"type": "integer", "minimum": 0}, "open_reports": {"type": "integer", "minimum": 0},
                    "review": {"type": "object", "properties": {"threshold_devices": {"type": "integer"}, "threshold_providers": {"type": "integer"}, "reached": {"type": "boolean"}}},
                    "notice": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Notice"}]}}},
                "Notice": {"type": "object", "properties": {
                    "opened": {"type": "string", "format": "date-time"},
                    "webhook": {"type": "string", "enum": ["delivered", "pending", "no-webhook"]},
                    "notified": {"type": ["string", "null"], "format": "date-time", "description": "When the manufacturer's webhook took the notice: the clock's start."},
                    "attempts": {"type": "integer"}, "last_error": {"type": "string"},
                    "acknowledged": {"type": ["string", "null"], "format": "date-time"},
                    "corrective_measure": {"type": ["string", "null"], "format": "date-time"},
                    "cra_art14": {"type": "array", "items": {"type": "object", "properties": {
                        "report": {"type": "string", "enum": ["early-warning", "notification", "final-report"]},
                        "provision": {"type": "string"}, "title": {"type": "string"},
                        "from": {"type": "string", "enum": ["notified", "corrective-measure"]},
                        "within_hours": {"type": "integer"},
                        "due": {"type": ["string", "null"], "format": "date-time"}, "made": {"type": ["string", "null"], "format": "date-time"},
                        "overdue": {"type": "boolean"}, "late": {"type": "boolean"}}}},
                    "cra_source": {"type": "object", "properties": {"document": {"type": "string"}, "url": {"type": "string"}, "applies_from": {"type": "string"}, "confidence": {"type": "string"}, "note": {"type": "string"}}}}},
                "FieldReceipt": {"type": "object", "properties": {"report_id": {"type": "string"}, "product": {"type": "string"}, "outcome": {"type": "string", "enum": ["recorded", "updated"]}, "page": {"type": "string"}, "under_review": {"type": "boolean"}}},
                "Acknowledgement": {"type": "object", "additionalProperties": false, "properties": {
                    "note": {"type": "string", "maxLength": 2000},
                    "early_warning_at": {"type": "string", "format": "date-time", "description": "When the Art. 14(2)(a) early warning was made."},
                    "notification_at": {"type": "string", "format": "date-time", "description": "When the Art. 14(2)(b) vulnerability notification was made."},
                    "corrective_measure_at": {"type": "string", "format": "date-time", "description": "When a corrective or mitigating measure became available (the final report is due 14 days later)."},
                    "final_report_at": {"type": "string", "format": "date-time", "description": "When the Art. 14(2)(c) final report was made."}}},
                "EvidenceFile": {"type": "object", "required": ["name", "document"], "additionalProperties": false, "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200}, "document": {"type": "object", "description": "An iotrust-evidence/1 document (what iotrust probe writes)."}}},
                "LabAttached": {"type": "object", "properties": {"product": {"type": "string"}, "evidence": {"type": "string"}, "tier_before": {"type": ["string", "null"]}, "tier_after": {"type": ["string", "null"]}, "changes": {"type": "array", "items": {"type": "string"}}}},
                "Listed": {"type": "object", "properties": {"id": {"type": "string"}, "manufacturer": {"type": "string"}, "model": {"type": "string"}, "name": {"type": ["string", "null"]}, "category": {"type": "string"}, "status": {"type": "string"}, "tier": {"type": ["string", "null"]}, "label_tier": {"type": ["string", "null"]}, "valid_until": {"type": "string"}, "support_end": {"type": ["string", "null"]}, "support": {"$ref": "#/components/schemas/Support"}}},
                "SearchPage": {"type": "object", "properties": {"query": {"type": "string"}, "total": {"type": "integer"}, "offset": {"type": "integer"}, "results": {"type": "array", "items": {"$ref": "#/components/schemas/Listed"}}}},
                "CheckRequest": {"type": "object", "required": ["items"], "additionalProperties": false, "properties": {
                    "tier": {"type": "string", "description": "Tier (baseline, essential, assured, advanced) or procurement profile (public-procurement) each product must reach. Default: baseline, unless a market is asked."},
                    "market": {"type": "string", "description": "A market (UK, EU, US, ...) whose laws in force each product must meet, by the registry's assessment."},
                    "exclude_field_compromised": {"type": "boolean", "default": false, "description": "Fail products a provider currently sees compromised in the field (an open field report)."},
                    "items": {"type": "array", "maxItems": 20000, "items": {"type": "object", "required": ["manufacturer", "model"], "properties": {"manufacturer": {"type": "string"}, "model": {"type": "string"}}}}}},
                "CheckResponse": {"type": "object", "properties": {"tier": {"type": ["string", "null"]}, "market": {"type": ["string", "null"]}, "checked": {"type": "integer"}, "meeting": {"type": "integer"},
                    "results": {"type": "array", "items": {"type": "object", "properties": {"manufacturer": {"type": "string"}, "model": {"type": "string"}, "registered": {"type": "boolean"}, "meets": {"type": "boolean"}, "tier": {"type": ["string", "null"]}, "reason": {"type": "string"}, "field_compromised": {"type": "boolean"}, "id": {"type": "string"}}}}}},
                "VerifyResult": {"type": "object", "properties": {"valid": {"type": "boolean"}, "reason": {"type": "string"}, "id": {"type": "string"}, "signers": {"type": "array", "items": {"type": "string"}}, "registry_status": {"type": ["string", "null"]}}},
                "Count": {"type": "object", "required": ["id", "products"], "properties": {"id": {"type": "string"}, "products": {"type": "integer", "minimum": 0}}},
                "Programmes": {"type": "object", "properties": {"products": {"type": "integer"}, "tiers": {"type": "array", "items": {"$ref": "#/components/schemas/Count"}},
                    "schemes": {"type": "array", "items": {"type": "object", "properties": {"scheme": {"type": "string"}, "title": {"type": "string"}, "jurisdiction": {"type": "string"}, "kind": {"type": "string"}, "in_scope": {"type": "integer"}, "conformant": {"type": "integer"}, "levels": {"type": "array", "items": {"$ref": "#/components/schemas/Count"}}}}}}},
                "Reassessed": {"type": "object", "properties": {"catalog_version": {"type": "string"}, "checked": {"type": "integer"}, "changed": {"type": "integer"}, "failed": {"type": "array", "items": {"type": "string"}}}}
            }
        },
        "paths": {
            "/api/v1/labels": {"post": common(json!({
                "summary": "Submit a signed label with the profile it was issued for; the registry verifies the signatures, assesses the profile and stores both.",
                "operationId": "submit",
                "security": [{"token": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submission"}}}},
                "responses": {
                    "201": ok("Submitted", "Registered."),
                    "200": ok("Submitted", "Replaced an earlier submission of the same label."),
                    "400": error_response("Malformed body."),
                    "401": error_response("Missing or unknown token."),
                    "403": error_response("The token does not belong to the label's manufacturer."),
                    "409": error_response("The label was revoked."),
                    "413": error_response("Body over 16 MiB."),
                    "422": error_response("The label does not verify, or the profile does not match it or does not support its tier.")
                }}))},
            "/api/v1/labels/bulk": {"post": common(json!({
                "summary": "Submit up to 1,000 labels at once. Each is checked on its own; the accepted ones are stored in one transaction and acknowledged together.",
                "operationId": "submitBulk",
                "security": [{"token": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["submissions"], "additionalProperties": false,
                    "properties": {"submissions": {"type": "array", "maxItems": 1000, "items": {"$ref": "#/components/schemas/Submission"}}}}}}},
                "responses": {
                    "200": {"description": "One result per submission, in order.", "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "accepted": {"type": "integer"}, "rejected": {"type": "integer"},
                        "results": {"type": "array", "items": {"type": "object", "properties": {"ok": {"$ref": "#/components/schemas/Submitted"},
                            "error": {"type": "object", "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}}}}}}}}}},
                    "400": error_response("Malformed body."),
                    "401": error_response("Missing or unknown token."),
                    "403": error_response("Not a manufacturer's token."),
                    "413": error_response("Over 1,000 submissions or 16 MiB.")
                }}))},
            "/api/v1/products/{id}": {"get": common(json!({
                "summary": "A product: label, tier, levels per scheme, support status, history.",
                "operationId": "product",
                "parameters": [id_param()],
                "responses": {"200": ok("Product", "The product."), "404": error_response("No such product.")}}))},
            "/api/v1/products/{id}/suspend": {"post": status_change("Suspend", "the product's manufacturer or an authority")},
            "/api/v1/products/{id}/reinstate": {"post": status_change("Reinstate", "an authority")},
            "/api/v1/products/{id}/revoke": {"post": status_change("Revoke", "an authority; final")},
            "/api/v1/field-reports": {"post": common(json!({
                "summary": "A network provider's field report: devices of one product seen compromised, signed by the provider's key (DSSE, payloadType application/vnd.iotrust.field-report+json). No subscriber identities: unknown fields and addresses are refused. The same report_id updates the report.",
                "operationId": "fieldReport",
                "security": [{"token": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}},
                "responses": {
                    "201": ok("FieldReceipt", "Recorded."),
                    "200": ok("FieldReceipt", "Updated an earlier report with the same report_id."),
                    "400": error_response("Malformed envelope or report (an unknown field, an address, a bad count or time)."),
                    "401": error_response("Missing or unknown token."),
                    "403": error_response("Not a provider's token, no trusted key of that provider, or the report names another provider."),
                    "404": error_response("No registered product matches; the report was not kept."),
                    "409": error_response("The report_id belongs to another provider."),
                    "413": error_response("Body over 16 MiB."),
                    "422": error_response("The signature does not verify with the provider's key.")
                }}))},
            "/api/v1/products/{id}/field/ack": {"post": common(json!({
                "summary": "The product's manufacturer acknowledges its field notice and may record when it made each EU CRA Art. 14 report and when a corrective measure became available.",
                "operationId": "fieldAck",
                "security": [{"token": []}],
                "parameters": [id_param()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Acknowledgement"}}}},
                "responses": {
                    "200": ok("Field", "The product's field view after the acknowledgement."),
                    "400": error_response("Malformed body, or a time in the future."),
                    "401": error_response("Missing or unknown token."),
                    "403": error_response("Not the product's manufacturer."),
                    "404": error_response("No such product."),
                    "409": error_response("No field notice, or a report time already recorded differently.")
                }}))},
            "/api/v1/products/{id}/evidence": {"post": common(json!({
                "summary": "A lab attaches probe or test evidence (iotrust-evidence/1) to a registered product; the registry re-assesses the product with it and records the changes in its history.",
                "operationId": "labEvidence",
                "security": [{"token": []}],
                "parameters": [id_param()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EvidenceFile"}}}},
                "responses": {
                    "200": ok("LabAttached", "Attached; the re-assessment's result."),
                    "400": error_response("Malformed body or name."),
                    "401": error_response("Missing or unknown token."),
                    "403": error_response("Not a lab's token."),
                    "404": error_response("No such product."),
                    "409": error_response("The label was revoked."),
                    "413": error_response("Body over 16 MiB."),
                    "422": error_response("The document is not evidence this catalog reads, or the stored profile no longer parses.")
                }}))},
            "/api/v1/check": {"post": common(json!({
                "summary": "Bulk check: which of these models have an active, unexpired label at the tier asked (or above)?",
                "operationId": "check",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckRequest"}}}},
                "responses": {"200": ok("CheckResponse", "One result per item, in order."), "400": error_response("Malformed body or unknown tier."), "413": error_response("Over 20,000 items.")}}))},
            "/api/v1/verify": {"post": common(json!({
                "summary": "Verify a label: signatures against the registry's trusted keys, validity today, status in the registry.",
                "operationId": "verify",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}},
                "responses": {"200": ok("VerifyResult", "The verdict (valid or not, with the reason)."), "400": error_response("Not an envelope.")}}))},
            "/api/v1/search": {"get": common(json!({
                "summary": "Search products by manufacturer, model, name or category (case-insensitive substring).",
                "operationId": "search",
                "parameters": [
                    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 500, "default": 50}},
                    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}],
                "responses": {"200": ok("SearchPage", "Matching products."), "400": error_response("Bad query parameters.")}}))},
            "/api/v1/sunsetting": {"get": common(json!({
                "summary": "Active products whose support period ends within `days` (or ended within the last `days`).",
                "operationId": "sunsetting",
                "parameters": [{"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 3650, "default": 180}}],
                "responses": {"200": {"description": "Products, soonest end first.", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Listed"}}}}}, "400": error_response("Bad query parameters.")}}))},
            "/api/v1/programmes": {"get": common(json!({
                "summary": "How many active products reach each tier and each level of each scheme.",
                "operationId": "programmes",
                "responses": {"200": ok("Programmes", "Counts.")}}))},
            "/api/v1/reassess": {"post": common(json!({
                "summary": "Re-assess every stored profile last assessed under another catalog version; changed tiers and levels go into each product's history.",
                "operationId": "reassess",
                "security": [{"token": []}],
                "responses": {"200": ok("Reassessed", "What changed."), "401": error_response("Missing or unknown token."), "403": error_response("Not an authority's token.")}}))},
            "/api/v1/openapi.json": {"get": {
                "summary": "This document.",
                "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {}}}}}}
        }
    })
}
