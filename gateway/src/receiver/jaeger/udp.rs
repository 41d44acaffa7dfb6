//! Jaeger's agent UDP ports: each datagram is one `Agent.emitBatch` message, in compact
//! Thrift (Jaeger's port 6831) or binary Thrift (6832), at most 65,000 bytes.
//!
//! UDP has no answer: a datagram that cannot be decoded, or that ingest refuses, is
//! counted (`spangate_requests_refused_total`) and logged at most once every
//! [`LOG_EVERY`] per socket, and the loop goes on. Datagrams are handled one at a time,
//! so a slow store makes the kernel drop datagrams, as it would for Jaeger's agent.
//! UDP carries no tenant: the config refuses these ports with multi-tenancy on.

use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::model::Batch;
use super::submit::Sink;
use super::thrift::{BinaryProtocol, CompactProtocol, ThriftError, read_emit_batch};
use crate::model::SINGLE_TENANT;
use crate::receiver::stats::{Refusal, Transport};

/// Jaeger clients' limit for one datagram.
pub(super) const MAX_DATAGRAM_BYTES: usize = 65_000;
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Which Thrift protocol a UDP port speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UdpProtocol {
    Compact,
    Binary,
}

impl UdpProtocol {
    fn transport(self) -> Transport {
        match self {
            UdpProtocol::Compact => Transport::JaegerThriftCompact,
            UdpProtocol::Binary => Transport::JaegerThriftBinary,
        }
    }

    pub(super) fn decode(self, datagram: &[u8]) -> Result<Batch, ThriftError> {
        match self {
            UdpProtocol::Compact => read_emit_batch(&mut CompactProtocol::new(datagram)),
            UdpProtocol::Binary => read_emit_batch(&mut BinaryProtocol::new(datagram)),
        }
    }
}

/// Receives datagrams on `socket` until `shutdown` is cancelled.
pub(crate) async fn serve(
    socket: UdpSocket,
    protocol: UdpProtocol,
    sink: Sink,
    shutdown: CancellationToken,
) {
    let transport = protocol.transport();
    match socket.local_addr() {
        Ok(address) => tracing::info!(
            %address,
            transport = transport.label(),
            "jaeger udp receiver listening"
        ),
        Err(_) => tracing::info!(
            transport = transport.label(),
            "jaeger udp receiver listening"
        ),
    }
    // One byte more than the limit, so that a longer datagram is seen as such.
    let mut buffer = vec![0u8; MAX_DATAGRAM_BYTES + 1];
    let mut log = LogLimiter::default();
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            received = socket.recv_from(&mut buffer) => received,
        };
        let (length, peer) = match received {
            Ok(received) => received,
            Err(error) => {
                if let Some(suppressed) = log.allow() {
                    tracing::warn!(%error, suppressed, transport = transport.label(), "jaeger udp receive failed");
                }
                continue;
            }
        };
        if length > MAX_DATAGRAM_BYTES {
            sink.refused(transport, Refusal::TooLarge);
            if let Some(suppressed) = log.allow() {
                tracing::warn!(%peer, suppressed, transport = transport.label(), "jaeger udp datagram over {MAX_DATAGRAM_BYTES} bytes dropped");
            }
            continue;
        }
        let batch = match protocol.decode(&buffer[..length]) {
            Ok(batch) => batch,
            Err(error) => {
                sink.refused(transport, Refusal::Malformed);
                if let Some(suppressed) = log.allow() {
                    tracing::warn!(%peer, %error, suppressed, transport = transport.label(), "invalid jaeger udp datagram dropped");
                }
                continue;
            }
        };
        // The sink counts and logs a refusal by ingest itself.
        let _ = sink.submit(transport, SINGLE_TENANT, batch).await;
    }
}

/// Lets one log line through per [`LOG_EVERY`], and says how many were held back.
#[derive(Default)]
struct LogLimiter {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    /// `Some(lines held back since the last one)` when a line may be logged now.
    fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < LOG_EVERY)
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_limiter_lets_one_line_through_and_counts_the_rest() {
        let mut log = LogLimiter::default();
        assert_eq!(log.allow(), Some(0));
        assert_eq!(log.allow(), None);
        assert_eq!(log.allow(), None);
        log.last = Some(Instant::now() - LOG_EVERY);
        assert_eq!(log.allow(), Some(2));
    }
}
