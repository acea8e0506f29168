// The public face of image data preparation (the image-*.ts files): decoding PNG/JPEG/WebP into Float32 CHW,
// folder and manifest data sets, frame sequences and windows, the report of rejected images, pure transforms
// and the seeded augmenter. Named exports only, so internals such as decodeImages stay inside data/.
export { decodeImage, IMAGE_EXTENSIONS, IMAGE_FITS, isImageFile, type ImageDecodeOptions, type ImageFit, type ImageSize } from './image-decode.js';
export { loadImageFolder, loadImageManifest, type ImageFolderOptions, type ImageFolderResult, type ImageManifestOptions } from './image-folder.js';
export {
  frameWindows,
  loadImageSequence,
  naturalCompare,
  type FrameWindowOptions,
  type FrameWindows,
  type ImageSequence,
  type ImageSequenceOptions,
} from './image-sequence.js';
export { formatImageReport, IMAGE_ISSUE_REASONS, writeQuarantine, type ImageIssue, type ImageIssueReason, type ImageLoadReport } from './image-report.js';
export {
  addGaussianNoise,
  BT601_WEIGHTS,
  flipImage,
  grayscaleImage,
  imageChannelStats,
  normalizeImage,
  resizeImage,
  rotateImage,
  translateImage,
  type FlipAxis,
  type ImageShape,
} from './image-transforms.js';
export { Augmenter, parseAugmentSpec, type AugmentSpec } from './image-augment.js';
