/**
 * The statistics reporters and the dashboard share with the trials engine, re-exported here so
 * ui/ reads them through report/ (DESIGN.md: ui imports events and report only) and every view
 * computes an interval or a histogram exactly as the JSON report does.
 */
export { wilsonInterval, histogram, Z_95, type ProportionInterval, type HistogramBin } from '../peer/stats.js';
