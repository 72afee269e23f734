//! Golden runner (harness = false): walks golden/ and compares bytes.
//!
//! SKELETON: filled in by issue 2.

fn main() {}
