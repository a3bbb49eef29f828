export type { Detector, DetectorOptions, DetectorStats, Distribution } from './detector.js';
export {
  detectorStats,
  heartbeat,
  isAvailable,
  newDetector,
  phi,
  windowSizeMax,
} from './detector.js';
export { AssertionError } from './assert.js';
