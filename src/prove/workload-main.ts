import { answerInJson } from '../entry.ts';
import { runWorkload } from './workload.ts';

// Run inside the client host by `ip netns exec`: `node … prove/workload-main '<options as JSON>'`;
// prints every operation as one JSON array.

await answerInJson('workload', runWorkload);
