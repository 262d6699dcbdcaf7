import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import{GetSecretValueCommand as e,SecretsManagerClient as t}from"@aws-sdk/client-secrets-manager";var r=new t({region:"us-east-1"}),o=new e({SecretId:"x"});export{r as client,o as cmd};
