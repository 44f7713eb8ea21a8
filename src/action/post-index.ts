import { post } from './post.js';

post();
