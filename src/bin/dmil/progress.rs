//! Progress on stderr: a bar per stage and one summary line per epoch, so stdout keeps only
//! results (a table, or JSON with `--json`).

use indicatif::{ProgressBar, ProgressStyle};

use dmil::model::Stage;
use dmil::train::{EpochSummary, TrainObserver};

/// How much a run tells while it trains.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// A bar per stage and a line per epoch.
    Epochs,
    /// Only a bar per stage (for commands that train many models).
    Bars,
}

/// Draws a bar per stage and prints epoch lines.
pub struct Progress {
    label: String,
    detail: Detail,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A reporter whose lines start with `label` (the model and seed).
    pub fn new(label: impl Into<String>, detail: Detail) -> Self {
        Progress {
            label: label.into(),
            detail,
            bar: None,
        }
    }

    /// Prints a line above the bar (or plainly when stderr is not a terminal).
    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) if !bar.is_hidden() => bar.println(text),
            _ => errln!("{text}"),
        }
    }
}

impl TrainObserver for Progress {
    fn stage_started(&mut self, stage: Stage, epochs: usize, steps_per_epoch: usize) {
        let bar = ProgressBar::new((epochs * steps_per_epoch) as u64);
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:32.cyan/blue}] {pos}/{len} steps {elapsed_precise} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{} {}", self.label, stage.label()));
        self.bar = Some(bar);
    }

    fn step_finished(&mut self, loss: f32) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!("loss {loss:.4}"));
        }
    }

    fn epoch_finished(&mut self, s: &EpochSummary) {
        if self.detail != Detail::Epochs {
            return;
        }
        self.line(format!(
            "{} {} epoch {:>3}/{}  loss {:.4}  select acc {:5.1}%  mAP {:5.1}%  {:.2}s{}",
            self.label,
            s.stage.label(),
            s.epoch,
            s.epochs,
            s.train_loss,
            100.0 * s.select_accuracy,
            100.0 * s.select_map,
            s.seconds,
            if s.improved { "  *best" } else { "" }
        ));
    }

    fn stage_finished(&mut self, stage: Stage, best_epoch: usize) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.detail == Detail::Epochs {
            self.line(format!(
                "{} {} done: kept epoch {best_epoch}",
                self.label,
                stage.label()
            ));
        }
    }
}
