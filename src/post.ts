import { post } from './cleanup.js'

await post()
