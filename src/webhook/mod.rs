//! The mutating admission webhook: HTTPS server, AdmissionReview handling, TLS reload, metrics.
//!
//! SKELETON: filled in by issue 5.
