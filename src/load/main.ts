import { answerInJson } from '../entry.ts';
import { generateLoad } from './generator.ts';

// Run inside a lab host's namespace by `ip netns exec`: `node … load/main '<options as JSON>'`.

await answerInJson('load', generateLoad);
