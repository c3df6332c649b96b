//! Serving a connection's own wake-ups at once. When a request carries a body, hyper's
//! HTTP/1 body channel wakes the connection's task from inside the task's own poll: the
//! dispatcher registers the task's waker to learn when the body is wanted, and the handler,
//! reading the body in the same poll, wakes it. Tokio treats a task woken while it runs as a
//! task that yielded, and sends it to the back of its run queue; under load, when its turn
//! comes its client has mostly not sent the next request yet, so that request waits for the
//! next look at the network, a whole round of the other connections later. At 64 HTTP/1.1
//! connections that put a tenth to a third of Connect calls (and every other call with a
//! body) a round late: the slow mode of a bimodal latency. [`RepollOnSelfWake`] polls the
//! connection again at once instead, so that a call with a body is scheduled like one
//! without.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use futures_util::task::{waker_ref, ArcWake, AtomicWaker};

/// At most this many polls of the inner future per poll of the task; a future that keeps
/// waking itself then yields, as it would have without the wrapper.
const MAX_POLLS: usize = 4;

pin_project_lite::pin_project! {
    /// A future whose wake-ups during its own poll make it poll again at once rather than
    /// yield; wake-ups from elsewhere wake the task as usual.
    pub(super) struct RepollOnSelfWake<F> {
        #[pin]
        inner: F,
        wakes: Arc<Wakes>,
    }
}

impl<F> RepollOnSelfWake<F> {
    pub(super) fn new(inner: F) -> Self {
        Self {
            inner,
            wakes: Arc::default(),
        }
    }
}

/// Where the inner future's waker sends its wake-ups.
#[derive(Debug, Default)]
struct Wakes {
    /// [`IDLE`], [`POLLING`], or [`WOKEN_WHILE_POLLING`].
    state: AtomicU8,
    /// The task's waker, for wake-ups between polls.
    task: AtomicWaker,
}

const IDLE: u8 = 0;
const POLLING: u8 = 1;
const WOKEN_WHILE_POLLING: u8 = 2;

impl ArcWake for Wakes {
    fn wake_by_ref(wakes: &Arc<Self>) {
        let noted = wakes.state.compare_exchange(
            POLLING,
            WOKEN_WHILE_POLLING,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        match noted {
            Ok(_) | Err(WOKEN_WHILE_POLLING) => {}
            Err(_) => wakes.task.wake(),
        }
    }
}

impl<F: Future> Future for RepollOnSelfWake<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        this.wakes.task.register(cx.waker());
        let waker = waker_ref(this.wakes);
        let mut inner_cx = Context::from_waker(&waker);
        for _ in 0..MAX_POLLS {
            this.wakes.state.store(POLLING, Ordering::Release);
            let poll = this.inner.as_mut().poll(&mut inner_cx);
            let woken = this.wakes.state.swap(IDLE, Ordering::AcqRel) == WOKEN_WHILE_POLLING;
            if poll.is_ready() || !woken {
                return poll;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    /// A waker that counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Wakes itself in each of its first `self_wakes` polls, then is ready; counts its polls.
    struct WakesItself {
        self_wakes: usize,
        polls: usize,
    }

    impl Future for WakesItself {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.polls > self.self_wakes {
                return Poll::Ready(self.polls);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn wakes_itself(self_wakes: usize) -> WakesItself {
        WakesItself {
            self_wakes,
            polls: 0,
        }
    }

    fn poll_once<F: Future>(future: Pin<&mut F>, task: &Arc<Count>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::clone(task));
        future.poll(&mut Context::from_waker(&waker))
    }

    #[test]
    fn a_wake_during_the_poll_polls_again_at_once_without_waking_the_task() {
        let task = Arc::new(Count::default());
        let mut future = std::pin::pin!(RepollOnSelfWake::new(wakes_itself(1)));
        assert_eq!(poll_once(future.as_mut(), &task), Poll::Ready(2));
        assert_eq!(task.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_future_that_keeps_waking_itself_yields_after_a_few_polls() {
        let task = Arc::new(Count::default());
        let mut future = std::pin::pin!(RepollOnSelfWake::new(wakes_itself(usize::MAX)));
        assert_eq!(poll_once(future.as_mut(), &task), Poll::Pending);
        assert_eq!(future.inner.polls, MAX_POLLS);
        assert_eq!(
            task.0.load(Ordering::SeqCst),
            1,
            "the task is woken to go on"
        );
    }

    #[test]
    fn a_wake_between_polls_wakes_the_task() {
        let task = Arc::new(Count::default());
        let given = std::sync::Mutex::new(None::<Waker>);
        let waiting = std::future::poll_fn(|cx| {
            *given.lock().expect("not poisoned") = Some(cx.waker().clone());
            Poll::<()>::Pending
        });
        let mut future = std::pin::pin!(RepollOnSelfWake::new(waiting));
        assert_eq!(poll_once(future.as_mut(), &task), Poll::Pending);
        assert_eq!(task.0.load(Ordering::SeqCst), 0);
        let waker = given.lock().expect("not poisoned").take();
        waker.expect("the waker it was given").wake();
        assert_eq!(task.0.load(Ordering::SeqCst), 1);
    }
}
