//! Non-fatal problems with the input that are not MQTT findings
//! (a truncated capture, an undecodable frame, a reassembly cap hit).
//!
//! Every stage may produce them; they travel to the report like findings
//! so that nothing the tool skipped is silent.

/// One thing the user should know about the input that the analysis had to work around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The frame it happened at, when there is one (1-based, Wireshark numbering).
    pub frame: Option<u64>,
    /// A one-line explanation for a person.
    pub message: String,
}

impl Warning {
    /// A warning tied to a frame.
    pub fn at(frame: u64, message: impl Into<String>) -> Self {
        Warning {
            frame: Some(frame),
            message: message.into(),
        }
    }

    /// A warning about the capture as a whole.
    pub fn general(message: impl Into<String>) -> Self {
        Warning {
            frame: None,
            message: message.into(),
        }
    }
}
