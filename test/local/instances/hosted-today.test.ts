import { fleetSuite } from './fleet-suite.js'

fleetSuite('hosted-today')
