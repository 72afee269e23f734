//! The command line: clap definitions only (what the user typed, checked, no I/O).
//!
//! SKELETON: filled in by issue 4.
