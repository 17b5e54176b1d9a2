import { sharedTestCluster } from '../helpers/world.js';

/**
 * The clusters of the test world's own suites, prefixed `testenv-` so that no other suite
 * starts or stops them by accident.
 */
/** The run's shared cluster (see `sharedTestCluster`): the test world's suites check it too. */
export const mainCluster = sharedTestCluster;
/** The second cluster of the independence test, one node. */
export const otherCluster = 'testenv-other';
/** Stopped, restarted and destroyed by the lifecycle tests. */
export const lifecycleCluster = 'testenv-life';
