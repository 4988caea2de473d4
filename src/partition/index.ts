/**
 * partition/: pure planning. Model graph and device profiles in, a plan out: BODP, the 2D grid,
 * fused blocks, MSCC + FGCP for sparse Dense layers, the cost model and the planner.
 * No TF.js, no DOM, no I/O, no clock; randomness only from a seed that is passed in.
 */

// Errors
export { PartitionError } from './errors.ts';
export type { PartitionErrorCode } from './errors.ts';

// Spatial partitioning
export { biasedSplit, sharesToRanges } from './biasedSplit.ts';
export { backProjectAxis, rangeLength, rectArea, rectHull } from './geometry.ts';
export type { AxisProjection, AxisWindow, Range, Rect } from './geometry.ts';
export { isClosedSpatialBlock, layerUnits } from './units.ts';
export type { LayerUnit } from './units.ts';
export { fullRect, sliceBlock, sliceCost } from './spatialSlices.ts';
export type { InputCut, NodeSlice, SliceCost, TileAssignment, TileSlice } from './spatialSlices.ts';
export { gridTiling, squarestGrid, stripTiling } from './tilings.ts';
export { isResidentChain, residentLayerSlice, residentActivationBytes, residentDevices, residentRun, residentSplitFits, residentTasks } from './resident.ts';
export type { SplitAxis } from './tilings.ts';

// Plans
export { stepLabel } from './plan.ts';
export type { FcStep, HaloTransfer, OwnerStep, PlanStep, ResidentLayer, ResidentSlice, ResidentStep, SpatialScheme, SpatialStep, WirePrecision } from './plan.ts';
export type { FcScheme, FcWorkerSlice } from './sparse/fcSlice.ts';

// Sparse fully-connected layers
export { spectralCoclustering } from './sparse/coclustering.ts';
export type { CoClustering, EdgeWeight } from './sparse/coclustering.ts';
export { assignRows, countCross, mscc } from './sparse/mscc.ts';
export type { MsccOptions, MsccPartition } from './sparse/mscc.ts';
export { fgcp } from './sparse/fgcp.ts';
export type { FgcpResult } from './sparse/fgcp.ts';
export { hopcroftKarp, minimumVertexCover } from './sparse/vertexCover.ts';
export type { Bipartite, Matching, VertexCover } from './sparse/vertexCover.ts';
export { randomizedSvd } from './sparse/randomizedSvd.ts';
export type { TruncatedSvd } from './sparse/randomizedSvd.ts';
export { kMeans } from './sparse/kmeans.ts';
export type { KMeansResult } from './sparse/kmeans.ts';
export { fcTraffic, partitionFcMsccFgcp, partitionFcOutputSplit } from './sparse/fcPartition.ts';
export type { FcPartition, FcTraffic } from './sparse/fcPartition.ts';

// Cost model and planner
export { capability, computeMs, haloMs, messageMs, predictOwnerOnly, predictResident, predictStep, refreshProfile, wireBytes } from './cost.ts';
export type { DeviceMeasurement, DeviceProfile, DeviceTask, ResidentTasks, StepPrediction } from './cost.ts';
export { autoWireMargin, planInference, planSteps } from './planner.ts';
export type { ExcludedDevice, Plan, PlannedStep, PlannerOptions, PlannerSpatialScheme, WireOption } from './planner.ts';
export { pixelNodes, privateUnitCount } from './privacy.ts';
export type { InputPrivacy } from './privacy.ts';

// Report (issue 3): pure; the caller supplies the clock and writes the file
export { buildPartitionReport } from './report.ts';
export type { DeviceSet, FcRow, PartitionReport, PartitionReportInput, SpatialRow } from './report.ts';
