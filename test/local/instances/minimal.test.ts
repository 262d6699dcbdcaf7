import { fleetSuite } from './fleet-suite.js'

fleetSuite('minimal')
