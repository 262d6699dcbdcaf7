import { fleetSuite } from './fleet-suite.js'

fleetSuite('strict-schema')
