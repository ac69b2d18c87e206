//! `--metrics ADDR`: a Prometheus scrape endpoint. A small HTTP server
//! (tiny_http: synchronous, no async runtime — one scrape every few
//! seconds does not need one) runs on its own thread; each request for
//! `/metrics` is handed to the analysis thread, which renders the
//! exposition between two steps of the run and sends it back. The analysis
//! state never leaves its thread.

use crate::pipeline::RunState;
use crate::report::prometheus::{MetricsInput, render};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::Duration;

/// How long a scrape waits for the analysis thread to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// The endpoint: requests waiting to be answered.
pub struct MetricsEndpoint {
    requests: Receiver<Sender<String>>,
}

impl MetricsEndpoint {
    /// Listens on `addr` (`127.0.0.1:9464`, `:9464`).
    pub fn start(addr: &str) -> Result<MetricsEndpoint, String> {
        let addr = if addr.starts_with(':') {
            format!("0.0.0.0{addr}")
        } else {
            addr.to_string()
        };
        let server =
            tiny_http::Server::http(&addr).map_err(|e| format!("--metrics {addr}: {e}"))?;
        let (tx, rx) = channel::<Sender<String>>();
        thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for request in server.incoming_requests() {
                    let path = request.url().split('?').next().unwrap_or("").to_string();
                    if path != "/metrics" {
                        let _ = request.respond(
                            tiny_http::Response::from_string("see /metrics\n")
                                .with_status_code(404),
                        );
                        continue;
                    }
                    let (answer_tx, answer_rx) = channel();
                    if tx.send(answer_tx).is_err() {
                        return; // the run is over
                    }
                    let body = answer_rx
                        .recv_timeout(ANSWER_WITHIN)
                        .unwrap_or_else(|_| "# the analysis did not answer in time\n".into());
                    let mut response = tiny_http::Response::from_string(body);
                    if let Ok(h) = tiny_http::Header::from_bytes(
                        &b"Content-Type"[..],
                        &b"text/plain; version=0.0.4; charset=utf-8"[..],
                    ) {
                        response = response.with_header(h);
                    }
                    let _ = request.respond(response);
                }
            })
            .map_err(|e| format!("--metrics: {e}"))?;
        Ok(MetricsEndpoint { requests: rx })
    }

    /// Answers the scrapes that came in since the last turn.
    pub fn serve(&mut self, run: &mut RunState<'_, '_>) {
        while let Ok(answer) = self.requests.try_recv() {
            let analysis = run.analysis().summary();
            let open_flows = run.open_flows();
            let packets = run.packets();
            let text = render(&MetricsInput {
                frames: run.capture().frames,
                bytes: run.capture().bytes,
                drops: run.drops(),
                tcp: run.tcp(),
                open_connections: run.open_connections(),
                open_flows,
                packets: &packets.by_type,
                malformed: packets.malformed,
                analysis: &analysis,
            });
            let _ = answer.send(text);
        }
    }
}
