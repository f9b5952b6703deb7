//! Steady-state optimizer steps allocate nothing: a counting global allocator watches the
//! heap of the test's own thread while `step` runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use dmil::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use dmil::Tensor;

/// The system allocator, counting the allocations of threads that asked to be watched.
struct Counting;

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    WATCHING.with(|w| w.set(true));
    f();
    WATCHING.with(|w| w.set(false));
    ALLOCATIONS.with(Cell::get)
}

fn steady_state_allocations(opt: &mut dyn Optimizer, params: &[Tensor<f32>]) -> usize {
    let loss = || {
        let total = params
            .iter()
            .map(|p| (p * p).sum_all())
            .reduce(|a, b| a + b);
        total.unwrap().backward().unwrap();
    };
    loss();
    opt.step().unwrap();

    opt.zero_grad();
    loss();
    allocations_in(|| opt.step().unwrap())
}

#[test]
fn sgd_and_adam_steps_allocate_nothing_after_the_first() {
    let params: Vec<Tensor<f32>> = (0..3)
        .map(|i| Tensor::randn([64, 32], i).requires_grad())
        .collect();

    let mut sgd = Sgd::new(params.clone(), SgdConfig::default());
    assert_eq!(steady_state_allocations(&mut sgd, &params), 0);

    let mut adam = Adam::new(params.clone(), AdamConfig::adamw(1e-3, 0.01));
    assert_eq!(steady_state_allocations(&mut adam, &params), 0);
}

#[test]
fn the_counter_sees_allocations() {
    let n = allocations_in(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert!(n >= 1);
}
