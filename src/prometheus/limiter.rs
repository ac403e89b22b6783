//! The bound on requests in flight to one Prometheus, with two priorities.
//!
//! An analysis has a critical path (inventory → a check → its guards, fallbacks and evidence →
//! drill-down) and a mass of independent queries (workload measures, latency). With one FIFO
//! queue the critical path waits behind the mass and the analysis ends long after Prometheus
//! has done the work; with the mass queued behind the critical path, the bound stays busy and
//! the analysis ends when the work does. Waiters of equal priority are served in order.
//!
//! The bound can be lowered once the server is known ([`Limiter::limit_to`]): Prometheus
//! evaluates each query on one core, so more queries in flight than it has cores only make each
//! of them slower, and every hop of a chain of dependent queries with them.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, PoisonError},
};

use tokio::sync::oneshot;

/// Which queue a request waits in when every slot is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Priority {
    /// Served before anything else: health checks and inventory calls (template variables,
    /// the `instances` resource), which are small and must answer while analyses fill the
    /// bound. They wait for the next free slot, never behind queued analysis queries.
    Control,
    /// Served first among analysis queries: what other queries wait on.
    #[default]
    Urgent,
    /// Served when nothing urgent waits: queries nothing depends on.
    Background,
}

/// Hands out at most `slots` permits; a permit frees its slot when dropped.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The bound.
    slots: usize,
    free: usize,
    /// Permits still out beyond a lowered bound: each one returned retires instead of freeing.
    debt: usize,
    control: VecDeque<oneshot::Sender<Permit>>,
    urgent: VecDeque<oneshot::Sender<Permit>>,
    background: VecDeque<oneshot::Sender<Permit>>,
}

/// One slot, held while a request and its body are in flight.
#[derive(Debug)]
pub struct Permit {
    limiter: Option<Arc<Limiter>>,
}

impl Limiter {
    /// A limiter with `slots` permits (at least one).
    pub fn new(slots: usize) -> Arc<Limiter> {
        Arc::new(Limiter {
            state: Mutex::new(State {
                slots: slots.max(1),
                free: slots.max(1),
                debt: 0,
                control: VecDeque::new(),
                urgent: VecDeque::new(),
                background: VecDeque::new(),
            }),
        })
    }

    /// Wait for a slot. Cancel-safe: dropping the future while it waits gives up its place,
    /// and a permit handed to it in the meantime is passed on.
    pub async fn acquire(self: &Arc<Self>, priority: Priority) -> Permit {
        let waiting = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.free > 0 {
                state.free -= 1;
                return Permit {
                    limiter: Some(self.clone()),
                };
            }
            let (tx, rx) = oneshot::channel();
            match priority {
                Priority::Control => state.control.push_back(tx),
                Priority::Urgent => state.urgent.push_back(tx),
                Priority::Background => state.background.push_back(tx),
            }
            rx
        };
        // The limiter outlives this future (`self` is an Arc) and never drops a queued sender
        // unsent, so the channel cannot close; were it to, waiting again is the safe answer.
        match waiting.await {
            Ok(permit) => permit,
            Err(_) => Box::pin(self.acquire(priority)).await,
        }
    }

    /// Lower the bound to `slots` (at least one); a higher value leaves it unchanged. Permits
    /// out beyond the new bound retire as they come back.
    pub fn limit_to(&self, slots: usize) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let slots = slots.max(1);
        if slots >= state.slots {
            return;
        }
        let cut = state.slots - slots;
        let from_free = cut.min(state.free);
        state.free -= from_free;
        state.debt += cut - from_free;
        state.slots = slots;
    }

    /// The bound.
    pub fn slots(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .slots
    }

    /// Slots free right now.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .free
    }

    /// Requests waiting for a slot right now.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.control.len() + state.urgent.len() + state.background.len()
    }

    /// Give a freed slot to the next waiter (control, then urgent, then background), or mark
    /// it free.
    fn release(self: &Arc<Self>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut permit = Permit {
            limiter: Some(self.clone()),
        };
        if state.debt > 0 {
            // The bound was lowered while this slot was out: it retires.
            state.debt -= 1;
            permit.limiter = None;
            return;
        }
        loop {
            let next = state
                .control
                .pop_front()
                .or_else(|| state.urgent.pop_front())
                .or_else(|| state.background.pop_front());
            match next {
                Some(tx) => match tx.send(permit) {
                    Ok(()) => return,
                    // That waiter gave up: try the next one with the same permit.
                    Err(back) => permit = back,
                },
                None => {
                    // Nobody waits: the slot is free. Disarm the permit so that dropping it
                    // does not release the slot a second time.
                    permit.limiter = None;
                    state.free += 1;
                    return;
                }
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(limiter) = self.limiter.take() {
            limiter.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn never_more_than_the_slots_and_urgent_waiters_go_first() {
        let limiter = Limiter::new(1);
        let held = limiter.acquire(Priority::Urgent).await;
        assert_eq!(limiter.available(), 0);
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |name: &'static str, priority| {
            let (limiter, order) = (limiter.clone(), order.clone());
            tokio::spawn(async move {
                let _permit = limiter.acquire(priority).await;
                order.lock().unwrap().push(name);
                tokio::time::sleep(Duration::from_millis(5)).await;
            })
        };
        let b1 = spawn("background-1", Priority::Background);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let u1 = spawn("urgent-1", Priority::Urgent);
        let b2 = spawn("background-2", Priority::Background);
        let u2 = spawn("urgent-2", Priority::Urgent);
        let health = spawn("health", Priority::Control);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(limiter.waiting(), 5);
        drop(held);
        for task in [b1, u1, b2, u2, health] {
            task.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            [
                "health",
                "urgent-1",
                "urgent-2",
                "background-1",
                "background-2"
            ]
        );
        assert_eq!(limiter.available(), 1);
    }

    #[tokio::test]
    async fn a_lowered_bound_holds_once_the_permits_out_come_back() {
        let limiter = Limiter::new(4);
        let a = limiter.acquire(Priority::Urgent).await;
        let b = limiter.acquire(Priority::Urgent).await;
        let c = limiter.acquire(Priority::Urgent).await;
        limiter.limit_to(2);
        assert_eq!(limiter.slots(), 2);
        assert_eq!(limiter.available(), 0, "the free slot went first");
        drop(a);
        assert_eq!(
            limiter.available(),
            0,
            "one permit out beyond the bound retired"
        );
        drop(b);
        assert_eq!(limiter.available(), 1);
        limiter.limit_to(8);
        assert_eq!(limiter.slots(), 2, "never raised");
        drop(c);
        assert_eq!(limiter.available(), 2);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_loses_no_slot() {
        let limiter = Limiter::new(1);
        let held = limiter.acquire(Priority::Urgent).await;
        // Gives up while waiting (as a request past its deadline does).
        let gave_up = tokio::time::timeout(
            Duration::from_millis(5),
            limiter.acquire(Priority::Background),
        )
        .await;
        assert!(gave_up.is_err());
        drop(held);
        assert_eq!(limiter.available(), 1, "the slot came back");
        let _again = limiter.acquire(Priority::Background).await;
        assert_eq!(limiter.available(), 0);
    }
}
