// Per-epoch metric history of a run, written as metrics.json after every epoch.
export interface EpochRecord {
  epoch: number;
  lr: number;
  train_loss: number;
  train_accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  val_mae?: number;
  seconds: number;
  samples_per_s: number;
}
