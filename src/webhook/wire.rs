//! AdmissionReview `admission.k8s.io/v1` as it is on the wire: the request fields we read and
//! the response we write, as serde structs. No decisions here (see `review`).
//!
//! The request's `object` and `oldObject` stay raw JSON (borrowed from the body): the review
//! parses `object` once into a `serde_json::Value`, so unknown and newer fields survive, and
//! `oldObject` only for the UPDATEs that need it. Every other field of the review is ignored.
//!
//! The response (the fields we write):
//! - `response.uid`: the request's uid, always echoed (the API server rejects a mismatch).
//! - `response.allowed`: `false` only in `enforce` mode for unfixable violations, and for
//!   invalid or refused requests.
//! - `response.patchType` and `response.patch`: `"JSONPatch"` and the base64 of the RFC 6902
//!   array, only when the patch is non-empty. (kube-core's `AdmissionResponse` writes `patch`
//!   as an array of numbers, which the API server rejects; hence our own struct.)
//! - `response.warnings`: one per control fixed and one per control left unfixable, each with
//!   a count of the places and under 120 characters.
//! - `response.auditAnnotations`: `patched` and `unfixable`, comma-separated control ids; not
//!   written for `dryRun` requests, which must leave no trace.
//! - `response.status`: for denials (403) and refusals (400, 408, 413, 503, ...), with a
//!   message.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The only AdmissionReview version served (the one every supported Kubernetes sends when the
/// webhook lists only `v1` in `admissionReviewVersions`).
pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// The request body, as far as we read it. Missing strings are empty, to be judged by the
/// review with a message naming the field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an AdmissionReview object")]
pub struct IncomingReview<'a> {
    #[serde(default, borrow)]
    pub api_version: Cow<'a, str>,
    #[serde(default, borrow)]
    pub kind: Cow<'a, str>,
    #[serde(default, borrow)]
    pub request: Option<RequestFields<'a>>,
}

/// `AdmissionReview.request`, the fields the review needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a `request` object")]
pub struct RequestFields<'a> {
    #[serde(default, borrow)]
    pub uid: Cow<'a, str>,
    #[serde(default, borrow)]
    pub operation: Cow<'a, str>,
    #[serde(default, borrow)]
    pub namespace: Cow<'a, str>,
    #[serde(default, borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow)]
    pub sub_resource: Cow<'a, str>,
    #[serde(default)]
    pub dry_run: Option<bool>,
    #[serde(default, borrow)]
    pub object: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub old_object: Option<&'a RawValue>,
}

/// The AdmissionReview we answer with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub response: AdmissionResponse,
}

/// `AdmissionReview.response`, with `patch` already base64-encoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// Base64 (standard alphabet, padded) of the RFC 6902 JSON array.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_base64"
    )]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Writes base64 as it is: its alphabet needs no JSON escape, and scanning the largest field of
/// the answer for escapes cost more than encoding it.
fn serialize_base64<S: serde::Serializer>(
    base64: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let quoted = format!("\"{}\"", base64.as_deref().unwrap_or_default());
    let raw = RawValue::from_string(quoted).map_err(serde::ser::Error::custom)?;
    raw.serialize(serializer)
}

/// `metav1.Status` for refusals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub status: &'static str,
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl AdmissionReview {
    /// An allowed answer for `uid`, to be filled in.
    pub fn allowed(uid: String) -> AdmissionReview {
        AdmissionReview {
            api_version: API_VERSION,
            kind: KIND,
            response: AdmissionResponse {
                uid,
                allowed: true,
                status: None,
                patch_type: None,
                patch: None,
                audit_annotations: BTreeMap::new(),
                warnings: Vec::new(),
            },
        }
    }

    /// A refusal with `status.code` `code` and the matching `metav1.StatusReason`.
    pub fn failure(uid: String, code: u16, message: String) -> AdmissionReview {
        let reason = match code {
            400 => "BadRequest",
            403 => "Forbidden",
            408 => "Timeout",
            411 => "BadRequest",
            413 => "RequestEntityTooLarge",
            503 => "ServiceUnavailable",
            _ => "InternalError",
        };
        let mut review = AdmissionReview::allowed(uid);
        review.response.allowed = false;
        review.response.status = Some(Status {
            status: "Failure",
            code,
            reason,
            message,
        });
        review
    }

    /// The JSON bytes sent on the wire.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response of strings, booleans and maps should serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_request_reads_with_raw_objects_and_ignores_other_fields() {
        let body = r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
            "uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE",
            "namespace":"n","userInfo":{"username":"a"},"dryRun":true,
            "object":{"kind":"Pod","future":{"x":[1]}},"oldObject":null}}"#;
        let review: IncomingReview<'_> = serde_json::from_str(body).unwrap();
        assert_eq!(review.api_version, API_VERSION);
        let request = review.request.unwrap();
        assert_eq!((&*request.uid, &*request.operation), ("u1", "CREATE"));
        assert_eq!(request.dry_run, Some(true));
        assert_eq!(
            request.object.unwrap().get(),
            r#"{"kind":"Pod","future":{"x":[1]}}"#
        );
        assert!(request.old_object.is_none());
    }

    #[test]
    fn the_patch_is_written_as_base64_text() {
        let mut review = AdmissionReview::allowed("u".into());
        review.response.patch_type = Some("JSONPatch");
        review.response.patch = Some("W10=".into());
        assert_eq!(
            String::from_utf8(review.to_json()).unwrap(),
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u","allowed":true,"patchType":"JSONPatch","patch":"W10="}}"#
        );
    }
}
