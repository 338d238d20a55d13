// @requires postgres
import { LOCAL_POSTGRES_URL } from '../helpers/database.js';
import { storageConformance } from './conformance.js';

storageConformance('postgres', process.env.TEST_POSTGRES_URL ?? LOCAL_POSTGRES_URL);
