//! A call's answer: made at once when the call had nothing to wait for, as almost every call
//! has, or a future when it must wait (a steered delay, a request body still arriving, a
//! large body parsed off the async workers). The HTTP protocols run a call that needs no wait
//! from start to answer in plain function calls, without a future of its own; native gRPC
//! awaits the same value.

use std::{future::Future, future::IntoFuture, pin::Pin};

use futures_util::future::{self, Either, FutureExt};

/// A future that owns what it needs.
pub(crate) type Later<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A value now, or a future of it.
pub(crate) enum Answer<T> {
    /// Made without waiting.
    Now(T),
    /// Made once the wait is over.
    Later(Later<T>),
}

impl<T: Send + 'static> Answer<T> {
    /// The answer `future` makes.
    pub(crate) fn later(future: impl Future<Output = T> + Send + 'static) -> Self {
        Self::Later(Box::pin(future))
    }

    /// The answer with `f` applied to its value.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U + Send + 'static) -> Answer<U> {
        match self {
            Self::Now(value) => Answer::Now(f(value)),
            Self::Later(future) => Answer::Later(Box::pin(future.map(f))),
        }
    }

    /// The answer `f` makes of this one's value: at once if both are made at once.
    pub(crate) fn then<U: Send + 'static>(
        self,
        f: impl FnOnce(T) -> Answer<U> + Send + 'static,
    ) -> Answer<U> {
        match self {
            Self::Now(value) => f(value),
            Self::Later(future) => Answer::later(async move { f(future.await).await }),
        }
    }
}

impl<T> IntoFuture for Answer<T> {
    type Output = T;
    type IntoFuture = Either<future::Ready<T>, Later<T>>;

    fn into_future(self) -> Self::IntoFuture {
        match self {
            Self::Now(value) => Either::Left(future::ready(value)),
            Self::Later(future) => Either::Right(future),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_made_now_stays_now_through_map_and_then() {
        let answer = Answer::Now(2).map(|n| n * 10).then(|n| Answer::Now(n + 1));
        assert!(matches!(answer, Answer::Now(21)));
    }

    #[tokio::test]
    async fn a_later_answer_anywhere_in_the_chain_makes_the_whole_answer_later() {
        let answer = Answer::Now(2).then(|n| Answer::later(async move { n * 10 }));
        let answer = answer.map(|n| n + 1);
        assert!(matches!(answer, Answer::Later(_)));
        assert_eq!(answer.await, 21);
        let answer = Answer::later(async { 4 }).then(|n| Answer::Now(n * 2));
        assert_eq!(answer.await, 8);
    }
}
