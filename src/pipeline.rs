//! The run: pull frames from a source, push them through every stage.
