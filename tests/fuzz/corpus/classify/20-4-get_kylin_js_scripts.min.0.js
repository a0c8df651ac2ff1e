GET
/kylin/js/scripts.min.0.js