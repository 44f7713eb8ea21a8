export const id = 670;
export const ids = [670];
export const modules = {

/***/ 5670:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   readPkcs12: () => (/* binding */ readPkcs12)
/* harmony export */ });
/* harmony import */ var node_forge__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8542);
/* harmony import */ var node_forge__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_forge__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var _jks_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7928);


/**
 * Certificates of a PKCS#12 store, trying the passwords Java and OpenSSL use by default. The JDK's own cacerts is a
 * password-less PKCS#12 from JDK 18 on (JDK-8275252); `undefined` and '' are the two encodings of "no password".
 */
function readPkcs12(bytes, passwords = [undefined, '', _jks_js__WEBPACK_IMPORTED_MODULE_1__/* .DEFAULT_STORE_PASSWORD */ .yE]) {
    const asn1 = node_forge__WEBPACK_IMPORTED_MODULE_0___default().asn1.fromDer(node_forge__WEBPACK_IMPORTED_MODULE_0___default().util.createBuffer(bytes.toString('binary')));
    let lastError;
    for (const password of passwords) {
        try {
            const p12 = node_forge__WEBPACK_IMPORTED_MODULE_0___default().pkcs12.pkcs12FromAsn1(asn1, false, password);
            const entries = [];
            for (const content of p12.safeContents) {
                for (const bag of content.safeBags) {
                    if (bag.type !== (node_forge__WEBPACK_IMPORTED_MODULE_0___default().pki).oids.certBag)
                        continue;
                    // node-forge types a bag's attributes as `any`: read the one attribute we want defensively.
                    const names = bag.attributes?.friendlyName;
                    const alias = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : '';
                    if (bag.cert) {
                        entries.push({ alias, der: Buffer.from(node_forge__WEBPACK_IMPORTED_MODULE_0___default().asn1.toDer(node_forge__WEBPACK_IMPORTED_MODULE_0___default().pki.certificateToAsn1(bag.cert)).getBytes(), 'binary') });
                    }
                    else if (bag.asn1) {
                        // forge keeps certificates whose key type it cannot parse (EC, Ed25519) as the raw certificate ASN.1
                        entries.push({ alias, der: Buffer.from(node_forge__WEBPACK_IMPORTED_MODULE_0___default().asn1.toDer(bag.asn1).getBytes(), 'binary') });
                    }
                }
            }
            return entries;
        }
        catch (error) {
            lastError = error;
        }
    }
    throw new Error(`PKCS#12 store could not be opened with the default passwords: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}


/***/ })

};
