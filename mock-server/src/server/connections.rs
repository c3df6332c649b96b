//! Connection hygiene on the listener side: at most so many connections at once, a pause
//! instead of a spin when `accept` fails (EMFILE), idle connections closed, and peers that
//! vanished without closing their connection found by TCP keepalive.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, Waker},
    time::Duration,
};

use futures_util::{Stream, StreamExt};
use socket2::{SockRef, TcpKeepalive};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How long the accept loop pauses after `accept` fails (out of file descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How peers that vanished without closing their connection (a killed VM, a pulled cable)
/// are found: the kernel probes a connection silent for 30 s every 10 s and drops it after
/// 2 unanswered probes, about 50 s in all. The kernel does this at no cost per call, unlike
/// HTTP/2 keepalive pings, whose bookkeeping reads the clock and takes a lock on every frame
/// received.
pub(crate) const TCP_KEEPALIVE: TcpKeepalive = TcpKeepalive::new()
    .with_time(Duration::from_secs(30))
    .with_interval(Duration::from_secs(10))
    .with_retries(2);

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
                if let Err(error) = SockRef::from(&stream).set_tcp_keepalive(&TCP_KEEPALIVE) {
                    tracing::debug!(%error, "cannot set TCP keepalive");
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
    /// The waker the timer holds, if it holds one: polling a pending timer again with the
    /// same waker changes nothing, and costs about 130 instructions on every pending read.
    timer_waker: Option<Waker>,
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
            timer_waker: None,
        }
    }

    /// The nearer of the idle and the write-stall deadlines.
    fn deadline(&self) -> Instant {
        let idle = self.last_progress + self.limits.idle_timeout;
        match self.write_stalled_since {
            Some(since) => idle.min(since + self.limits.write_stall_timeout),
            None => idle,
        }
    }

    /// After an I/O poll: progress only notes the time (the timer is not touched on the hot
    /// path); when the timer fires, it moves to the real deadline if that is later, and the
    /// connection ends if it is not.
    fn track<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.last_progress = Instant::now();
            return poll;
        }
        let holds_waker = self
            .timer_waker
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()));
        if holds_waker && !self.timer.is_elapsed() {
            return Poll::Pending;
        }
        // A timer that fires gives its waker up; polling it again registers this one.
        self.timer_waker = Some(cx.waker().clone());
        while self.timer.as_mut().poll(cx).is_ready() {
            let deadline = self.deadline();
            if deadline <= Instant::now() {
                let why = match self.write_stalled_since {
                    Some(_) => "its client stopped reading",
                    None => "it was idle",
                };
                tracing::debug!(why, "closing a connection");
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)));
            }
            self.timer.as_mut().reset(deadline);
        }
        Poll::Pending
    }
}

impl Connection {
    /// Notes when writes start and stop stalling; a new stall brings the timer forward.
    fn note_write<T>(&mut self, poll: &Poll<io::Result<T>>) {
        match (poll, self.write_stalled_since) {
            (Poll::Ready(_), Some(_)) => self.write_stalled_since = None,
            (Poll::Pending, None) => {
                self.write_stalled_since = Some(Instant::now());
                let deadline = self.deadline();
                self.timer.as_mut().reset(deadline);
                // The timer may have given up its waker; the next pending poll registers one.
                self.timer_waker = None;
            }
            _ => {}
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
        this.note_write(&poll);
        this.track(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.note_write(&poll);
        this.track(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_are_probed_by_tcp_keepalive() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let mut incoming = std::pin::pin!(incoming(listener, ConnectionLimits::default()));
        let connection = incoming.next().await.unwrap().unwrap();

        let socket = SockRef::from(&connection.stream);
        assert!(socket.keepalive().unwrap());
        assert_eq!(
            socket.tcp_keepalive_time().unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 2);
        assert!(socket.tcp_nodelay().unwrap());
        // The client's side is untouched: keepalive is the server's own hygiene.
        assert!(!SockRef::from(&client).keepalive().unwrap());
    }
}
