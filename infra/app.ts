/**
 * CDK entry (`cdk.json` runs it with tsx): builds the app from context and
 * synthesizes it. `npm run synth` needs neither AWS credentials nor Docker.
 */
import { createApp } from './main.js'

createApp().app.synth()
