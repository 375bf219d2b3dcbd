//! The report model, the policy sink, and one renderer per format.
