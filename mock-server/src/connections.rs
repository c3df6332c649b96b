//! Connection hygiene on the listener side: at most so many connections at once, a pause
//! instead of a spin when `accept` fails (EMFILE), and idle connections closed.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures_util::{Stream, StreamExt};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long the accept loop pauses after `accept` fails (out of file descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Limits on connections and streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The most connections open at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// The most concurrent HTTP/2 streams per connection (`SETTINGS_MAX_CONCURRENT_STREAMS`).
    pub max_concurrent_streams: u32,
    /// A connection on which nothing is read or written for this long is closed.
    pub idle_timeout: Duration,
    /// A connection whose client has not taken any of the response bytes waiting for it for
    /// this long is closed, so that a client that never reads pins nothing for long.
    pub write_stall_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_concurrent_streams: 256,
            idle_timeout: Duration::from_secs(300),
            write_stall_timeout: Duration::from_secs(30),
        }
    }
}

/// The listener's connections, at most `limits.max_connections` open at once.
pub(crate) fn incoming(
    listener: TcpListener,
    limits: ConnectionLimits,
) -> impl Stream<Item = io::Result<Connection>> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    futures_util::stream::unfold((listener, permits), move |(listener, permits)| async move {
        // Wait for a free slot before accepting, so that excess clients queue in the kernel.
        let permit = Arc::clone(&permits).acquire_owned().await.ok()?;
        let stream = accept(&listener).await;
        let connection = Connection::new(stream, permit, limits);
        Some((Ok(connection), (listener, permits)))
    })
    .boxed()
}

/// Accepts one connection, pausing after each failure instead of spinning.
async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
                return stream;
            }
            Err(error) => {
                tracing::warn!(%error, backoff = ?ACCEPT_BACKOFF, "accept failed; pausing");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// One accepted connection: holds its slot until closed, and ends itself when idle or when
/// its client stops taking the bytes written to it.
pub(crate) struct Connection {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    limits: ConnectionLimits,
    last_progress: Instant,
    write_stalled_since: Option<Instant>,
    timer: Pin<Box<Sleep>>,
}

impl Connection {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, limits: ConnectionLimits) -> Self {
        Self {
            stream,
            _slot: slot,
            limits,
            last_progress: Instant::now(),
            write_stalled_since: None,
            timer: Box::pin(tokio::time::sleep(limits.idle_timeout)),
        }
    }

    /// Sets the timer to the nearer of the idle and the write-stall deadlines.
    fn rearm(&mut self) {
        let idle = self.last_progress + self.limits.idle_timeout;
        let deadline = match self.write_stalled_since {
            Some(since) => idle.min(since + self.limits.write_stall_timeout),
            None => idle,
        };
        self.timer.as_mut().reset(deadline);
    }

    /// After an I/O poll: progress rearms the timer; no progress past it ends the connection.
    fn track<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.last_progress = Instant::now();
                self.rearm();
                Poll::Ready(result)
            }
            Poll::Pending if self.timer.as_mut().poll(cx).is_ready() => {
                let why = match self.write_stalled_since {
                    Some(_) => "its client stopped reading",
                    None => "it was idle",
                };
                tracing::debug!(why, "closing a connection");
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        this.track(cx, poll)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        match (&poll, this.write_stalled_since) {
            (Poll::Ready(_), Some(_)) => this.write_stalled_since = None,
            (Poll::Pending, None) => {
                this.write_stalled_since = Some(Instant::now());
                this.rearm();
            }
            _ => {}
        }
        this.track(cx, poll)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}
