import { storageConformance } from './conformance.js';

storageConformance('sqlite', undefined);
