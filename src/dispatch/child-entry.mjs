// Child-process entry of a worker's pool (plain JS so Node can start it before TypeScript loading is set up):
// registers tsx, then runs task handlers sent by the parent until the parent goes away.
import { register } from 'tsx/esm/api';

register();
const { runChild } = await import('./child-main.ts');
runChild();
