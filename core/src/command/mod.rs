//! Commands: building them, converting arguments and replies, and which arguments are keys.
//!
//! PLACEHOLDER API (the command issue replaces it).
