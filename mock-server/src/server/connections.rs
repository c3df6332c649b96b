//! Connection hygiene on the listener side: at most so many connections at once, a pause
//! instead of a spin when `accept` fails (EMFILE), idle connections closed, HTTP/1.1 request
//! heads that trickle in cut off, and peers that vanished without closing their connection
//! found by TCP keepalive. When every slot is
//! taken, the connection idle longest (no call in flight, no bytes moved for a second) is
//! closed to admit the new client, so idle keep-alive connections cannot lock others out.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    task::{Context, Poll, Waker},
    time::Duration,
};

use futures_util::{task::AtomicWaker, Stream, StreamExt};
use socket2::{SockRef, TcpKeepalive};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Instant, Sleep},
};

use crate::{model::Map, protocol::InFlight};

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
    /// A connection on which nothing is read or written, and no call is in flight, for this
    /// long is closed.
    pub idle_timeout: Duration,
    /// The same for an HTTP/1.1 connection, whose keep-alive holds a slot for one client
    /// alone: shorter, so that idle browsers and scripts give their slots back soon.
    pub http1_idle_timeout: Duration,
    /// A connection whose client has not taken any of the response bytes waiting for it for
    /// this long is closed, so that a client that never reads pins nothing for long.
    pub write_stall_timeout: Duration,
    /// An HTTP/1.1 connection whose request has not begun this long after its first bytes
    /// arrived (with no call in flight) is closed, looked at as further bytes arrive: so a
    /// client that trickles a request head in byte by byte holds its slot this long at most,
    /// plus the gap to its next byte (which the HTTP/1.1 idle timeout bounds).
    pub request_head_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_concurrent_streams: 256,
            idle_timeout: Duration::from_secs(300),
            http1_idle_timeout: Duration::from_secs(15),
            write_stall_timeout: Duration::from_secs(30),
            request_head_timeout: Duration::from_secs(30),
        }
    }
}

/// How long a connection must have moved no bytes, with no call in flight, before it may be
/// closed to admit a new client.
const EVICTABLE_AFTER: Duration = Duration::from_secs(1);

/// The listener's connections, at most `limits.max_connections` open at once.
pub(crate) fn incoming(
    listener: TcpListener,
    limits: ConnectionLimits,
) -> impl Stream<Item = io::Result<Connection>> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let open = Arc::new(OpenConnections::default());
    let state = (listener, permits, open);
    futures_util::stream::unfold(state, move |(listener, permits, open)| async move {
        // Wait for a free slot before accepting, so that excess clients queue in the kernel.
        let permit = slot(&permits, &open).await?;
        let stream = accept(&listener).await;
        let connection = Connection::new(stream, permit, limits, &open);
        Some((Ok(connection), (listener, permits, open)))
    })
    .boxed()
}

/// A free connection slot: at once if there is one; else the idlest connection is closed to
/// make one, and until one is idle enough, another try each `EVICTABLE_AFTER`.
async fn slot(permits: &Arc<Semaphore>, open: &OpenConnections) -> Option<OwnedSemaphorePermit> {
    loop {
        if let Ok(permit) = Arc::clone(permits).try_acquire_owned() {
            return Some(permit);
        }
        open.close_idlest();
        let freed = Arc::clone(permits).acquire_owned();
        match tokio::time::timeout(EVICTABLE_AFTER, freed).await {
            Ok(permit) => return permit.ok(),
            Err(_) => continue,
        }
    }
}

/// The open connections, as the accept loop sees them.
#[derive(Debug)]
struct OpenConnections {
    epoch: Instant,
    next: AtomicU64,
    by_id: Mutex<Map<u64, Arc<Activity>>>,
}

impl Default for OpenConnections {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            next: AtomicU64::new(0),
            by_id: Mutex::default(),
        }
    }
}

/// What the accept loop knows of one open connection.
#[derive(Debug, Default)]
struct Activity {
    /// Its calls in flight, counted by the protocol router.
    in_flight: InFlight,
    /// When it last moved bytes, in milliseconds since the registry's epoch.
    last_io_ms: AtomicU64,
    /// Set to close it; its next read ends it.
    close: AtomicBool,
    /// Wakes its pending read when it is to close.
    reader: AtomicWaker,
}

impl OpenConnections {
    fn register(&self) -> (u64, Arc<Activity>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::default());
        activity.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
        self.lock().insert(id, Arc::clone(&activity));
        (id, activity)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Closes the connection idle longest, if one has had no call in flight and moved no
    /// bytes for `EVICTABLE_AFTER`.
    fn close_idlest(&self) {
        let now = self.now_ms();
        let idle_for =
            |activity: &Activity| now.saturating_sub(activity.last_io_ms.load(Ordering::Relaxed));
        let min_idle = u64::try_from(EVICTABLE_AFTER.as_millis()).unwrap_or(u64::MAX);
        let by_id = self.lock();
        let idlest = by_id
            .values()
            .filter(|activity| {
                activity.in_flight.is_idle() && !activity.close.load(Ordering::Relaxed)
            })
            .filter(|activity| idle_for(activity) >= min_idle)
            .max_by_key(|activity| idle_for(activity));
        if let Some(activity) = idlest {
            tracing::debug!(
                idle_ms = idle_for(activity),
                "closing the idlest connection to admit a new client"
            );
            activity.close.store(true, Ordering::Release);
            activity.reader.wake();
        }
    }

    fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map<u64, Arc<Activity>>> {
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner)
    }
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
    id: u64,
    activity: Arc<Activity>,
    open: Arc<OpenConnections>,
    limits: ConnectionLimits,
    last_progress: Instant,
    write_stalled_since: Option<Instant>,
    /// Whether the client's first bytes were not HTTP/2's preface; unknown until it sends.
    speaks_http1: bool,
    protocol_known: bool,
    /// When the bytes of a request began to arrive on an HTTP/1.1 connection with no call in
    /// flight; a response written clears it.
    head_since: Option<Instant>,
    timer: Pin<Box<Sleep>>,
    /// The waker the timer holds, if it holds one: polling a pending timer again with the
    /// same waker changes nothing, and costs about 130 instructions on every pending read.
    timer_waker: Option<Waker>,
}

impl Connection {
    fn new(
        stream: TcpStream,
        slot: OwnedSemaphorePermit,
        limits: ConnectionLimits,
        open: &Arc<OpenConnections>,
    ) -> Self {
        let (id, activity) = open.register();
        Self {
            stream,
            _slot: slot,
            id,
            activity,
            open: Arc::clone(open),
            limits,
            last_progress: Instant::now(),
            write_stalled_since: None,
            speaks_http1: false,
            protocol_known: false,
            head_since: None,
            timer: Box::pin(tokio::time::sleep(limits.idle_timeout)),
            timer_waker: None,
        }
    }

    /// How long this connection may idle: shorter once it is known to speak HTTP/1.1.
    fn idle_timeout(&self) -> Duration {
        match self.speaks_http1 {
            true => self.limits.idle_timeout.min(self.limits.http1_idle_timeout),
            false => self.limits.idle_timeout,
        }
    }

    /// The nearer of the idle and the write-stall deadlines.
    fn deadline(&self) -> Instant {
        let idle = self.last_progress + self.idle_timeout();
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
            let since_epoch = self
                .last_progress
                .saturating_duration_since(self.open.epoch);
            let ms = u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX);
            self.activity.last_io_ms.store(ms, Ordering::Relaxed);
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
            let mut deadline = self.deadline();
            let now = Instant::now();
            let waiting_on_a_call = !self.activity.in_flight.is_idle();
            if deadline <= now && self.write_stalled_since.is_none() && waiting_on_a_call {
                // Quiet because a call is still being answered (a delay, say): not idle.
                deadline = now + self.idle_timeout();
            }
            if deadline <= now {
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
        if let Poll::Ready(Ok(_)) = poll {
            self.head_since = None;
        }
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

    /// After bytes arrived on an HTTP/1.1 connection (and [`Self::track`] noted the time):
    /// whether they are part of a request that has not begun within the request head
    /// timeout. The clock starts with the first bytes read while no call is in flight, and a
    /// response written stops it.
    fn head_overdue(&mut self) -> bool {
        if !self.activity.in_flight.is_idle() {
            return false;
        }
        let now = self.last_progress;
        match self.head_since {
            None => {
                self.head_since = Some(now);
                false
            }
            Some(since) => now.saturating_duration_since(since) > self.limits.request_head_timeout,
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
        if this.activity.close.load(Ordering::Acquire) {
            tracing::debug!("closing an idle connection to admit a new client");
            let why = "closed while idle to admit a new client";
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionAborted, why)));
        }
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if !this.protocol_known && buf.filled().len() > before {
            this.protocol_known = true;
            let first = &buf.filled()[before..];
            let preface = b"PRI * HTTP/2.0";
            this.speaks_http1 = !(first.starts_with(preface) || preface.starts_with(first));
            if this.speaks_http1 {
                // The timer was armed for the longer timeout: bring it forward.
                let deadline = this.deadline();
                this.timer.as_mut().reset(deadline);
                this.timer_waker = None;
            }
        }
        let read_bytes = buf.filled().len() > before;
        let poll = this.track(cx, poll);
        if poll.is_pending() {
            this.activity.reader.register(cx.waker());
        }
        if read_bytes && this.speaks_http1 && this.head_overdue() {
            tracing::debug!("closing a connection whose request head is too slow");
            let why = "the request head took too long to arrive";
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)));
        }
        poll
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.open.forget(self.id);
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

impl Connection {
    /// The connection's calls in flight, which the protocol router counts.
    pub(crate) fn in_flight(&self) -> InFlight {
        self.activity.in_flight.clone()
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
