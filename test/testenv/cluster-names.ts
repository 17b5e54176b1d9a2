/**
 * The clusters of the test world's own suites, prefixed `testenv-` so that no other suite
 * starts or stops them by accident.
 */
/** Shared by the suites that neither stop nor destroy it. */
export const mainCluster = 'testenv-main';
/** The second cluster of the independence test, one node. */
export const otherCluster = 'testenv-other';
/** Stopped, restarted and destroyed by the lifecycle tests. */
export const lifecycleCluster = 'testenv-life';
